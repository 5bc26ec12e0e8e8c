import BackorderCore
@testable import Delivery
import Foundation
import TestSupport
import Testing

@Suite struct TemplateRendererTests {
    static func repo(_ rel: String) -> String {
        var dir = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { dir = dir.deletingLastPathComponent() }
        return dir.appendingPathComponent(rel).path
    }

    @Test func builtInTemplatesMatchConfigTemplates() throws {
        let dir = Self.repo("config/templates")
        var onDisk: [String: String] = [:]
        let walker = try #require(FileManager.default.enumerator(atPath: dir))
        while let rel = walker.nextObject() as? String {
            guard rel.hasSuffix(".mustache") else { continue }
            onDisk[String(rel.dropLast(9))] = try String(contentsOfFile: dir + "/" + rel, encoding: .utf8)
        }
        #expect(onDisk == DefaultTemplates.all, "run scripts/embed-templates.py after editing config/templates")
    }

    @Test func everyTypeRendersAndEverySMSFits() throws {
        let r = try TemplateRenderer()
        #expect(r.check().isEmpty, "\(r.check())")
        for n in TemplateRenderer.samples(locale: "en") {
            let m = try r.render(n)
            #expect(!m.subject.isEmpty && !m.text.isEmpty && !m.sms.isEmpty)
            #expect(m.sms.count <= 160)
            #expect(!m.subject.contains("\n"))
        }
    }

    @Test func aDelayNoticeSaysTheNewDateAndHowToCancel() throws {
        let r = try TemplateRenderer(defaultTimeZone: "UTC")
        let n = TemplateRenderer.samples(locale: "en").first { $0.type.rawValue == "backorder.delayed" }!
        let m = try r.render(n)
        #expect(m.subject.contains("January 10, 2027"))
        #expect(m.text.contains("https://shop.example.com/orders/O-2026-000123/cancel"))
        #expect(m.sms.contains("Jan 10"))
        #expect(m.sms.contains("cancel"))
    }

    /// A customer west of UTC reads the days of the feed: a date is shown as that date,
    /// an instant as its date in the customer's zone.
    @Test(arguments: ["America/New_York", "Pacific/Pago_Pago", "Pacific/Kiritimati", "UTC"])
    func aDateIsShownAsThatDateInEveryZone(zone: String) throws {
        let r = try TemplateRenderer(defaultTimeZone: "UTC")
        let line = NoticeLine(line: "1", sku: "MUG", qty: 1, location: "store", promisedAt: .day(CalendarDay(year: 2026, month: 12, day: 10)),
                              expectedAt: .day(CalendarDay(year: 2026, month: 12, day: 15)))
        let c = CustomerNotice(order: "O-1", customer: Customer(id: "C", name: "Ben", timezone: zone), lines: [line], remaining: [],
                               cancelURL: "https://shop.example.com/c")
        let m = try r.render(Notice(type: .delayed, orderKey: "O-1", at: Instant(milliseconds: 1_796_083_200_000),
                                    idSeed: "x", content: .customer(c), lineKeys: ["1"]))
        #expect(m.text.contains("now expected Tuesday, December 15, 2026 (was Thursday, December 10, 2026)"), "\(m.text)")
        #expect(m.sms.contains("new expected date Dec 15"), "\(m.sms)")
        #expect(m.subject.contains("December 15, 2026"))
        // An instant: 2026-12-15T03:00Z is still the 14th in New York.
        var instant = c
        instant.lines[0].expectedAt = .instant(Instant(milliseconds: 1_796_083_200_000 + 14 * 86_400_000 + 3 * 3_600_000))
        let n = try r.render(Notice(type: .delayed, orderKey: "O-1", at: Instant(milliseconds: 1_796_083_200_000),
                                    idSeed: "x", content: .customer(instant), lineKeys: ["1"]))
        let west = zone == "America/New_York" || zone == "Pacific/Pago_Pago"
        #expect(n.text.contains(west ? "now expected Monday, December 14, 2026" : "now expected Tuesday, December 15, 2026"), "\(n.text)")
    }

    @Test func anOverdueNoticeWithoutADateSaysNoneIsKnown() throws {
        let r = try TemplateRenderer()
        let n = TemplateRenderer.samples(locale: "en").first { $0.type.rawValue == "backorder.overdue" }!
        #expect(try r.render(n).text.contains("do not have a new date"))
    }

    @Test func unknownLocalesFallBackToEnglishAndOverridesWin() throws {
        let root = TempDirectory()
        let de = root.sub("de")
        try Files.write(de + "/backorder.ready.subject.mustache", "Ihre Bestellung {{order}} ist bereit")
        let r = try TemplateRenderer(directory: root.path)
        let de_n = TemplateRenderer.samples(locale: "de-AT").first { $0.type.rawValue == "backorder.ready" }!
        let m = try r.render(de_n)
        #expect(m.subject == "Ihre Bestellung O-2026-000123 ist bereit")
        #expect(m.text.contains("Everything you were waiting for"), "missing parts fall back to en")
        let fr = TemplateRenderer.samples(locale: "fr").first { $0.type.rawValue == "backorder.ready" }!
        #expect(try r.render(fr).subject.hasPrefix("Good news"))
    }

    @Test func valuesCannotAddLinesOrMarkup() throws {
        let r = try TemplateRenderer()
        var n = TemplateRenderer.samples(locale: "en").first { $0.type.rawValue == "backorder.ready" }!
        guard case .customer(var c) = n.content else { return }
        c.order = "O-1\r\nBcc: x@evil.example"
        c.customer?.name = "<b>Ana</b>"
        n.content = .customer(c)
        let m = try r.render(n)
        #expect(!m.subject.contains("\n") && !m.subject.contains("\r"))
        #expect(m.text.contains("<b>Ana</b>"), "plain text: no HTML escaping, nothing executed")
    }

    @Test func aBrokenTemplateIsAConfigurationError() throws {
        let root = TempDirectory()
        let en = root.sub("en")
        try Files.write(en + "/backorder.ready.subject.mustache", "{{#lines}}unclosed")
        #expect(throws: TemplateError.self) { try TemplateRenderer(directory: root.path) }
    }

    @Test func anSMSTemplateOverTheLimitIsReportedByCheck() throws {
        let root = TempDirectory()
        let en = root.sub("en")
        try Files.write(en + "/stock.low.sms.mustache", String(repeating: "x", count: 161))
        let problems = try TemplateRenderer(directory: root.path).check()
        #expect(problems.contains { $0.contains("en/stock.low.sms renders 161 characters") })
    }
}
