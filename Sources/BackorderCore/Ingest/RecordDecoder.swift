/// Why a line was rejected: a short reason an operator can act on.
public struct RecordError: Error, Equatable, Sendable, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// Turns the flat fields of a line into a validated `Record`, following the record
/// table of the specification. Unknown fields are ignored.
public struct RecordDecoder: Sendable {
    /// Where a bare date given as `at` starts (`at` is an instant: a date there is
    /// read as its start in `policy.timezone`).
    public var calendar: DayCalendar
    /// Says whether a customer's `timezone` names a known zone.
    public var isKnownTimeZone: @Sendable (String) -> Bool

    public init(
        calendar: DayCalendar = DayCalendar(),
        isKnownTimeZone: @escaping @Sendable (String) -> Bool = { _ in true }
    ) {
        self.calendar = calendar
        self.isKnownTimeZone = isKnownTimeZone
    }

    public func decode(_ f: Fields) throws(RecordError) -> Record {
        guard let typeValue = f["type"] else { throw RecordError("missing field 'type'") }
        let type: String
        switch typeValue {
        case .string(let s), .text(let s): type = s
        default: throw RecordError("field 'type' must be a string, got \(typeValue.kindName)")
        }
        let at = try optionalTime(f, "at").map(calendar.ordering)
        switch type {
        case "stock":
            let key = try positionKey(f)
            let onHand = try optionalInt(f, "on_hand")
            let delta = try optionalInt(f, "delta")
            switch (onHand, delta) {
            case (let v?, nil):
                guard v >= 0 else { throw RecordError("field 'on_hand' must be 0 or more, got \(v)") }
                guard v <= QuantityLimit.record else { throw RecordError("field 'on_hand' must be at most \(QuantityLimit.record), got \(v)") }
                return .stock(StockChange(key: key, kind: .onHand(v), at: at))
            case (nil, let d?):
                guard d >= -QuantityLimit.record, d <= QuantityLimit.record else {
                    throw RecordError("field 'delta' must be between -\(QuantityLimit.record) and \(QuantityLimit.record), got \(d)")
                }
                return .stock(StockChange(key: key, kind: .delta(d), at: at))
            case (nil, nil):
                throw RecordError("a stock record needs exactly one of 'on_hand' or 'delta', got neither")
            case (_?, _?):
                throw RecordError("a stock record needs exactly one of 'on_hand' or 'delta', got both")
            }
        case "restock":
            let po = try identifier(f, "po")
            let key = try positionKey(f)
            let quantity = try positiveInt(f, "quantity")
            let expected = try requiredTime(f, "expected_at")
            var status = RestockChange.Status.open
            if let s = try optionalString(f, "status") {
                guard let parsed = RestockChange.Status(rawValue: s) else {
                    throw RecordError("field 'status' must be one of open, received, cancelled; got '\(s.prefix(40))'")
                }
                status = parsed
            }
            return .restock(RestockChange(po: po, key: key, quantity: quantity, expectedAt: expected, status: status, at: at))
        case "backorder":
            let order = try identifier(f, "order")
            let line = try identifier(f, "line")
            let key = try positionKey(f)
            let qty = try positiveInt(f, "qty")
            let ordered = try requiredTime(f, "ordered_at")
            let promised = try requiredTime(f, "promised_at")
            let customer = try customer(f)
            return .backorder(BackorderLine(order: order, line: line, key: key, qty: qty, orderedAt: ordered,
                                            promisedAt: promised, customer: customer, at: at))
        case "order":
            let order = try identifier(f, "order")
            let line = try optionalIdentifier(f, "line")
            guard let s = try optionalString(f, "status") else { throw RecordError("missing field 'status'") }
            guard let status = OrderClose.Status(rawValue: s) else {
                throw RecordError("field 'status' must be fulfilled or cancelled; got '\(s.prefix(40))'")
            }
            return .order(OrderClose(order: order, line: line, status: status, at: at))
        default:
            throw RecordError("unknown type '\(type.prefix(40))' (expected stock, restock, backorder or order)")
        }
    }

    // MARK: - Field readers

    private func positionKey(_ f: Fields) throws(RecordError) -> PositionKey {
        let sku = try identifier(f, "sku")
        let location = try optionalIdentifier(f, "location") ?? "default"
        return PositionKey(sku: sku, location: location)
    }

    private func customer(_ f: Fields) throws(RecordError) -> Customer {
        guard f["customer.id"] != nil else { throw RecordError("missing field 'customer.id'") }
        let id = try identifier(f, "customer.id")
        let name = try optionalString(f, "customer.name")
        let email = try optionalString(f, "customer.email")
        if let email, let problem = ContactCheck.emailProblem(email) {
            throw RecordError("field 'customer.email' is not an e-mail address: it \(problem)")
        }
        let phone = try optionalString(f, "customer.phone")
        if let phone, let problem = ContactCheck.phoneProblem(phone) {
            throw RecordError("field 'customer.phone' is not a phone number: it \(problem)")
        }
        let locale = try optionalString(f, "customer.locale") ?? "en"
        guard !locale.isEmpty, locale.count <= 35, locale.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else {
            throw RecordError("field 'customer.locale' must be a language tag such as 'en' or 'pt-BR'")
        }
        let timezone = try optionalString(f, "customer.timezone")
        if let timezone, !isKnownTimeZone(timezone) {
            throw RecordError("field 'customer.timezone' names no known time zone: '\(timezone.prefix(40))'")
        }
        return Customer(id: id, name: name, email: email, phone: phone, locale: locale, timezone: timezone)
    }

    /// An id: a non-empty string, or an integer (ERPs export numeric ids).
    private func identifier(_ f: Fields, _ name: String) throws(RecordError) -> String {
        guard let v = try optionalIdentifier(f, name) else { throw RecordError("missing field '\(name)'") }
        return v
    }

    private func optionalIdentifier(_ f: Fields, _ name: String) throws(RecordError) -> String? {
        switch f[name] {
        case nil, .null: return nil
        case .string(let s), .text(let s):
            if s.isEmpty { return nil }
            guard s.utf8.count <= 200 else { throw RecordError("field '\(name)' is longer than 200 bytes") }
            return s
        case .integer(let i): return String(i)
        case let v?: throw RecordError("field '\(name)' must be a string, got \(v.kindName)")
        }
    }

    private func optionalString(_ f: Fields, _ name: String) throws(RecordError) -> String? {
        switch f[name] {
        case nil, .null: return nil
        case .string(let s), .text(let s): return s.isEmpty ? nil : s
        case let v?: throw RecordError("field '\(name)' must be a string, got \(v.kindName)")
        }
    }

    private func optionalInt(_ f: Fields, _ name: String) throws(RecordError) -> Int64? {
        switch f[name] {
        case nil, .null: return nil
        case .integer(let i): return i
        case .text(let s):
            if s.isEmpty { return nil }
            guard let i = Int64(s) else { throw RecordError("field '\(name)' must be an integer, got '\(s.prefix(40))'") }
            return i
        case .number(let d): throw RecordError("field '\(name)' must be an integer, got \(d)")
        case let v?: throw RecordError("field '\(name)' must be an integer, got \(v.kindName)")
        }
    }

    private func positiveInt(_ f: Fields, _ name: String) throws(RecordError) -> Int64 {
        guard let v = try optionalInt(f, name) else { throw RecordError("missing field '\(name)'") }
        guard v > 0 else { throw RecordError("field '\(name)' must be greater than 0, got \(v)") }
        guard v <= QuantityLimit.record else { throw RecordError("field '\(name)' must be at most \(QuantityLimit.record), got \(v)") }
        return v
    }

    /// A time as given: an instant, or a bare date kept as a calendar date.
    private func optionalTime(_ f: Fields, _ name: String) throws(RecordError) -> Moment? {
        guard let s = try optionalString(f, name) else { return nil }
        switch RFC3339.parse(s.utf8) {
        case .instant(let i)?: return .instant(i)
        case .date(let y, let m, let d)?: return .day(CalendarDay(year: y, month: m, day: d))
        case nil:
            throw RecordError("field '\(name)' is not an RFC 3339 timestamp or date: '\(s.prefix(40))' (write 2026-12-01T09:00:00Z or 2026-12-01)")
        }
    }

    private func requiredTime(_ f: Fields, _ name: String) throws(RecordError) -> Moment {
        guard let t = try optionalTime(f, name) else { throw RecordError("missing field '\(name)'") }
        return t
    }
}
