import BackorderCore
import Foundation
import Mustache

/// Renders notices from Mustache templates, per event type and customer locale, with
/// fallback to `en`: `LOCALE/TYPE.subject`, `.text` and `.sms`.
///
/// The shipped English templates are built in; a templates folder may override any of
/// them or add locales. Templates are logic-less and rendered as plain text; values
/// from change files have control characters removed, so a name cannot add lines to a
/// subject or an SMS.
public struct TemplateRenderer: NoticeRenderer {
    public static let parts = ["subject", "text", "sms"]
    public static let smsLimit = 160

    private let templates: [String: MustacheTemplate]
    /// The same templates compiled by `FastTemplate`, where it takes them and renders the
    /// sample messages exactly as swift-mustache does; the rest render through swift-mustache.
    private let fast: [String: FastTemplate]
    /// The lists in a view (`{{#lines}}`); everything else is text or a number.
    static let lists: Set<String> = ["lines", "remaining"]
    private let defaultTimeZone: TimeZone
    /// Zones, date styles and formatted dates, made once and reused: building a date
    /// style or a zone per message cost more than the rest of rendering.
    private let formats = DateFormats()

    /// Loads the built-in templates, then those under `directory` (if given).
    public init(directory: String? = nil, defaultTimeZone: String = "UTC") throws(TemplateError) {
        var sources = DefaultTemplates.all
        if let directory {
            guard let walker = FileManager.default.enumerator(atPath: directory) else {
                throw TemplateError(problems: ["templates directory \(directory) cannot be read"])
            }
            while let rel = walker.nextObject() as? String {
                guard rel.hasSuffix(".mustache") else { continue }
                let name = String(rel.dropLast(".mustache".count))
                guard let text = try? String(contentsOfFile: directory + "/" + rel, encoding: .utf8) else {
                    throw TemplateError(problems: ["\(directory)/\(rel) is not readable UTF-8 text"])
                }
                sources[name] = text
            }
        }
        var loaded: [String: MustacheTemplate] = [:]
        var problems: [String] = []
        for (name, text) in sources.sorted(by: { $0.key < $1.key }) {
            do {
                loaded[name] = try MustacheTemplate(string: "{{% CONTENT_TYPE: TEXT}}" + text)
            } catch {
                problems.append("template \(name): \(error)")
            }
        }
        guard problems.isEmpty else { throw TemplateError(problems: problems) }
        templates = loaded
        self.defaultTimeZone = TimeZone(identifier: defaultTimeZone) ?? TimeZone(identifier: "UTC")!
        var compiled: [String: FastTemplate] = [:]
        let formats = self.formats, zone = self.defaultTimeZone
        for (name, text) in sources {
            guard let f = FastTemplate(text, lists: Self.lists), let m = loaded[name] else { continue }
            let locale = String(name.prefix { $0 != "/" })
            let type = name.dropFirst(locale.count + 1).split(separator: ".").dropLast().joined(separator: ".")
            let views = Self.samples(locale: locale, variations: true).filter { $0.type.rawValue == type }
                .map { Self.view($0, locale: locale, zone: zone, formats: formats) }
            if views.allSatisfy({ f.render($0) == m.render($0.anyView) }) { compiled[name] = f }
        }
        fast = compiled
    }

    /// The templates `FastTemplate` renders (the others go through swift-mustache).
    public var fastTemplates: [String] { fast.keys.sorted() }

    public func render(_ notice: Notice) throws -> RenderedMessage {
        let locale: String
        let zone: TimeZone
        switch notice.content {
        case .customer(let c):
            locale = c.recipient.locale
            zone = c.recipient.timezone.flatMap(formats.zone(named:)) ?? defaultTimeZone
        case .staff:
            locale = "en"
            zone = defaultTimeZone
        }
        let view = Self.view(notice, locale: locale, zone: zone, formats: formats)
        var out: [String] = []
        var anyView: [String: Any]? = nil
        for part in Self.parts {
            guard let name = templateName(notice.type.rawValue, part, locale: locale) else {
                throw TemplateError(problems: ["no template \(locale)/\(notice.type).\(part) and no en fallback"])
            }
            if let f = fast[name] {
                out.append(Self.trimmed(f.render(view)))
            } else {
                if anyView == nil { anyView = view.anyView }
                out.append(Self.trimmed(templates[name]!.render(anyView!)))
            }
        }
        var sms = Self.oneLine(out[2])
        if sms.count > Self.smsLimit { sms = String(sms.prefix(Self.smsLimit - 1)) + "…" }
        return RenderedMessage(subject: Self.oneLine(out[0]), text: out[1], sms: sms)
    }

    /// Without leading and trailing white space (the Unicode White_Space characters,
    /// the set Foundation's `.whitespacesAndNewlines` names), in pure Swift.
    static func trimmed(_ s: String) -> String {
        let scalars = s.unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })!
        if first == scalars.startIndex && last == scalars.index(before: scalars.endIndex) { return s }
        return String(scalars[first...last])
    }

    /// Every line feed made a space (a subject and an SMS are one line).
    static func oneLine(_ s: String) -> String {
        guard s.utf8.contains(0x0A) else { return s }
        var out = String.UnicodeScalarView()
        for u in s.unicodeScalars { out.append(u == "\n" ? " " : u) }
        return String(out)
    }

    /// Renders every type in every locale with sample data; returns what is wrong
    /// (a missing part, an SMS over 160 characters). `backorderd check` runs it.
    public func check() -> [String] {
        var problems: [String] = []
        let locales = Set(templates.keys.compactMap { $0.split(separator: "/").first.map(String.init) })
        for locale in locales.sorted() {
            for notice in Self.samples(locale: locale) {
                do {
                    let m = try render(notice)
                    let raw = template(notice.type.rawValue, "sms", locale: locale)?.render(Self.view(notice, locale: locale, zone: defaultTimeZone, formats: formats).anyView) ?? ""
                    let count = Self.trimmed(raw).count
                    if count > Self.smsLimit {
                        problems.append("\(locale)/\(notice.type).sms renders \(count) characters with sample data; keep it within \(Self.smsLimit)")
                    }
                    if m.subject.isEmpty { problems.append("\(locale)/\(notice.type).subject renders empty") }
                } catch {
                    problems.append("\(error)")
                }
            }
        }
        return problems
    }

    private func template(_ type: String, _ part: String, locale: String) -> MustacheTemplate? {
        templateName(type, part, locale: locale).flatMap { templates[$0] }
    }

    /// The template a message of this type and locale uses: the locale's, its language's, or `en`.
    private func templateName(_ type: String, _ part: String, locale: String) -> String? {
        var candidates = [locale]
        if let dash = locale.firstIndex(where: { $0 == "-" || $0 == "_" }) { candidates.append(String(locale[..<dash])) }
        candidates.append("en")
        for c in candidates {
            let name = "\(c)/\(type).\(part)"
            if templates[name] != nil { return name }
        }
        return nil
    }

    // MARK: - The view templates see

    static func view(_ notice: Notice, locale: String, zone: TimeZone, formats: DateFormats) -> TemplateObject {
        // A calendar date shows as that date; an instant as its date in the customer's zone.
        func long(_ m: Moment) -> TemplateValue { .text(formats.format(m, .long, locale: locale, zone: zone)) }
        func short(_ m: Moment) -> TemplateValue { .text(formats.format(m, .short, locale: locale, zone: zone)) }
        func kind(_ m: Moment) -> TemplateValue { .text(m.day == nil ? "instant" : "date") }
        switch notice.content {
        case .customer(let c):
            func line(_ l: NoticeLine) -> TemplateObject {
                var d: TemplateObject = ["line": .text(clean(l.line)), "sku": .text(clean(l.sku)), "qty": .int(l.qty),
                                         "location": .text(clean(l.location)), "promised": long(l.promisedAt),
                                         "promised_at": .text(l.promisedAt.description), "promised_kind": kind(l.promisedAt)]
                if let e = l.expectedAt {
                    d["expected"] = long(e)
                    d["expected_short"] = short(e)
                    d["expected_at"] = .text(e.description)
                    d["expected_kind"] = kind(e)
                }
                return d
            }
            var v: TemplateObject = [
                "order": .text(clean(c.order)),
                "lines": .list(c.lines.map(line)),
                "remaining": .list(c.remaining.map(line)),
                "items": .text(c.lines.map { "\($0.qty) x \(clean($0.sku))" }.joined(separator: ", ")),
            ]
            if let n = c.recipient.name { v["name"] = .text(clean(n)) }
            if let u = c.cancelURL { v["cancel_url"] = .text(clean(u)) }
            if let latest = c.lines.compactMap(\.expectedAt).max(by: { $0.displayOrder < $1.displayOrder }) {
                v["expected"] = long(latest)
                v["expected_short"] = short(latest)
            }
            if let earliest = c.lines.map(\.promisedAt).min(by: { $0.displayOrder < $1.displayOrder }) { v["promised"] = long(earliest) }
            return v
        case .staff(let a):
            var v: TemplateObject = [
                "sku": .text(clean(a.key.sku)), "location": .text(clean(a.key.location)), "on_hand": .int(a.onHand),
                "reserved": .int(a.reserved), "available": .int(a.available), "waiting_qty": .int(a.waitingQty),
                "short": .int(max(0, a.reserved - a.onHand)),
            ]
            if let n = a.nextRestockAt { v["next_restock"] = long(n) }
            return v
        }
    }

    /// Removes control characters from a value taken from a change file.
    static func clean(_ s: String) -> String {
        // Most values are plain ASCII with nothing to remove.
        if s.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) { return s }
        return String(String.UnicodeScalarView(s.unicodeScalars.map { $0.properties.generalCategory == .control ? " " : $0 }))
    }

    /// Sample messages of every type, for `check`; with `variations`, also without the
    /// optional values (no name, no cancel link, no dates, no remaining lines) and with
    /// several lines — the shapes a template's sections must agree on.
    static func samples(locale: String, variations: Bool = false) -> [Notice] {
        let instant = Instant(milliseconds: 1_796_083_200_000)
        let day = Moment.instant(instant)
        let customer = Customer(id: "C-1", name: "Maximiliana Sample-Longname", email: "max@example.com", locale: locale)
        let line = NoticeLine(line: "1", sku: "SKU-LONG-NAME-0001", qty: 12, location: "store-12", promisedAt: .day(CalendarDay(year: 2026, month: 12, day: 1)), expectedAt: .instant(instant + .days(40)))
        let url = "https://shop.example.com/orders/O-2026-000123/cancel"
        var shapes = [(customer, [line], [line], Optional(url), Optional(day))]
        if variations {
            var bare = line
            bare.expectedAt = nil
            var second = line
            second.line = "2"
            second.qty = 1
            shapes.append((Customer(id: "C-2", locale: locale), [bare], [], nil, nil))
            shapes.append((Customer(id: "C-3", name: "", locale: locale), [line, second, bare], [bare, second], url, day))
        }
        var out: [Notice] = []
        for (who, lines, remaining, cancel, restock) in shapes {
            for type in EventType.allCases.filter(\.isCustomerNews) {
                let c = CustomerNotice(order: "O-2026-000123", customer: who, lines: lines, remaining: remaining, cancelURL: cancel)
                out.append(Notice(type: type, orderKey: c.order, at: instant, idSeed: type.rawValue, content: .customer(c), lineKeys: lines.map(\.line)))
            }
            for kind in StaffAlert.Kind.allCases {
                let a = StaffAlert(kind: kind, key: PositionKey(sku: "SKU-LONG-NAME-0001", location: "store-12"), sequence: 1, at: instant,
                                   onHand: 3, reserved: 5, available: -2, waitingQty: 40, nextRestockAt: restock)
                out.append(Notice(type: kind.eventType, orderKey: "stock", at: instant, idSeed: kind.rawValue, content: .staff(a), lineKeys: []))
            }
        }
        return out
    }
}

/// Templates that cannot be used, with every problem found.
public struct TemplateError: Error, CustomStringConvertible {
    public var problems: [String]
    public var description: String { problems.joined(separator: "; ") }
}
