import BackorderCore
import Testing

@Suite struct RecordDecoderTests {
    let decoder = RecordDecoder()

    func decode(_ pairs: [(String, FieldValue)]) throws(RecordError) -> Record {
        try decoder.decode(Fields(pairs))
    }

    func reason(_ pairs: [(String, FieldValue)]) -> String? {
        do { _ = try decode(pairs); return nil } catch { return error.reason }
    }

    static let backorder: [(String, FieldValue)] = [
        ("type", .string("backorder")), ("order", .string("O-1")), ("line", .integer(1)), ("sku", .string("S")),
        ("qty", .integer(2)), ("ordered_at", .string("2026-11-01T10:00:00Z")), ("promised_at", .string("2026-12-01")),
        ("customer.id", .string("C-9")), ("customer.email", .string("ana@example.com")),
    ]

    @Test func decodesEveryType() throws {
        #expect(try decode([("type", .string("stock")), ("sku", .string("S")), ("on_hand", .integer(4))])
                == .stock(StockChange(key: PositionKey(sku: "S", location: "default"), kind: .onHand(4))))
        #expect(try decode([("type", .text("stock")), ("sku", .text("S")), ("location", .text("L")), ("delta", .text("-3"))])
                == .stock(StockChange(key: PositionKey(sku: "S", location: "L"), kind: .delta(-3))))
        let restock = try decode([("type", .string("restock")), ("po", .integer(77)), ("sku", .string("S")), ("quantity", .integer(10)),
                                  ("expected_at", .string("2026-12-05T00:00:00Z")), ("status", .string("received"))])
        #expect(restock == .restock(RestockChange(po: "77", key: PositionKey(sku: "S", location: "default"), quantity: 10,
                                                  expectedAt: .instant(Instant(milliseconds: 1_796_428_800_000)), status: .received)))
        guard case .backorder(let b) = try decode(Self.backorder) else { Issue.record("not a backorder"); return }
        #expect(b.line == "1")
        #expect(b.customer.locale == "en")
        #expect(b.promisedAt == .day(CalendarDay(year: 2026, month: 12, day: 1)))
        #expect(try decode([("type", .string("order")), ("order", .string("O-1")), ("status", .string("cancelled"))])
                == .order(OrderClose(order: "O-1", status: .cancelled)))
    }

    @Test func ignoresUnknownFields() throws {
        let r = try decode([("type", .string("stock")), ("sku", .string("S")), ("on_hand", .integer(4)), ("colour", .string("red"))])
        #expect(r == .stock(StockChange(key: PositionKey(sku: "S", location: "default"), kind: .onHand(4))),
                "the record is read as if the unknown field were not there")
    }

    @Test func acceptsAtOnEveryRecord() throws {
        let r = try decode([("type", .string("stock")), ("sku", .string("S")), ("on_hand", .integer(1)), ("at", .string("2026-12-01T09:00:00Z"))])
        guard case .stock(let s) = r else { Issue.record("not stock"); return }
        #expect(s.at == Instant(milliseconds: 1_796_115_600_000))
    }

    @Test(arguments: [
        ([("sku", FieldValue.string("S"))], "missing field 'type'"),
        ([("type", .integer(3))], "field 'type' must be a string"),
        ([("type", .string("teleport"))], "unknown type 'teleport'"),
        ([("type", .string("stock")), ("on_hand", .integer(1))], "missing field 'sku'"),
        ([("type", .string("stock")), ("sku", .bool(true)), ("on_hand", .integer(1))], "field 'sku' must be a string"),
        ([("type", .string("stock")), ("sku", .string("S"))], "got neither"),
        ([("type", .string("stock")), ("sku", .string("S")), ("on_hand", .integer(1)), ("delta", .integer(1))], "got both"),
        ([("type", .string("stock")), ("sku", .string("S")), ("on_hand", .integer(-1))], "'on_hand' must be 0 or more"),
        ([("type", .string("stock")), ("sku", .string("S")), ("on_hand", .string("4"))], "'on_hand' must be an integer"),
        ([("type", .string("stock")), ("sku", .string("S")), ("on_hand", .number(1.5))], "'on_hand' must be an integer"),
        ([("type", .string("stock")), ("sku", .string("S")), ("on_hand", .text("four"))], "'on_hand' must be an integer"),
        ([("type", .string("stock")), ("sku", .string("S")), ("on_hand", .integer(1)), ("at", .string("yesterday"))], "'at' is not an RFC 3339"),
        ([("type", .string("restock")), ("po", .string("P")), ("sku", .string("S")), ("quantity", .integer(0)),
          ("expected_at", .string("2026-12-01"))], "'quantity' must be greater than 0"),
        ([("type", .string("restock")), ("po", .string("P")), ("sku", .string("S")), ("quantity", .integer(3))], "missing field 'expected_at'"),
        ([("type", .string("restock")), ("po", .string("P")), ("sku", .string("S")), ("quantity", .integer(3)),
          ("expected_at", .string("2026-12-01")), ("status", .string("lost"))], "field 'status' must be one of"),
        ([("type", .string("order")), ("order", .string("O")), ("status", .string("shipped"))], "fulfilled or cancelled"),
        ([("type", .string("order")), ("order", .string("O"))], "missing field 'status'"),
    ])
    func rejectsBadRecords(fields: [(String, FieldValue)], expected: String) {
        let r = reason(fields)
        #expect(r?.contains(expected) == true, "got \(r ?? "no error")")
    }

    @Test(arguments: [
        ("qty", FieldValue.integer(-2), "'qty' must be greater than 0"),
        ("qty", .integer(0), "'qty' must be greater than 0"),
        ("customer.id", .null, "missing field 'customer.id'"),
        ("customer.email", .string("not-an-address"), "not an e-mail address"),
        ("customer.locale", .string("en US!"), "language tag"),
        ("ordered_at", .string("2026-11-01T10:00"), "'ordered_at' is not an RFC 3339"),
        ("promised_at", .integer(20261201), "'promised_at' must be a string"),
    ])
    func rejectsBadBackorders(field: String, value: FieldValue, expected: String) {
        var pairs = Self.backorder.filter { $0.0 != field }
        if value != .null { pairs.append((field, value)) }
        let r = reason(pairs)
        #expect(r?.contains(expected) == true, "got \(r ?? "no error")")
    }

    @Test func bareDatesStayCalendarDates() throws {
        var fields = Self.backorder
        fields.removeAll { $0.0 == "promised_at" }
        fields.append(("promised_at", .string("2026-12-10")))
        guard case .backorder(let b) = try decode(fields) else { Issue.record("not a backorder"); return }
        #expect(b.promisedAt == .day(CalendarDay(year: 2026, month: 12, day: 10)))
        // `at` is an instant: a bare date there is its start in policy.timezone.
        let berlin = RecordDecoder(calendar: DayCalendar(policyZone: "Berlin+1", offset: { _, _ in 3600 }))
        fields.append(("at", .string("2026-12-10")))
        guard case .backorder(let c) = try berlin.decode(Fields(fields)) else { Issue.record("not a backorder"); return }
        #expect(c.at == Instant(milliseconds: 1_796_083_200_000 + 9 * 86_400_000 - 3_600_000))
    }

    @Test func unknownCustomerTimeZoneIsRejected() {
        let d = RecordDecoder(isKnownTimeZone: { $0 == "Europe/Berlin" })
        var pairs = Self.backorder
        pairs.append(("customer.timezone", .string("Mars/Olympus")))
        #expect(throws: RecordError.self) { try d.decode(Fields(pairs)) }
    }
}

/// Customer addresses that would reach a mail or SMS receiver as something else.
@Suite struct ContactCheckTests {
    @Test(arguments: ["a@b.com\r\nBcc: evil@x.com", "a@b.com, c@d.com", "a@", "@x.com", "Ana <ana@example.com>", "a b@x.com",
                      "a@@x.com", "a@x..com", ".a@x.com", "a@-x.com", "a@x.com\n", "\"a\"@x.com", "a@x_y.com", ""])
    func refusesEmail(_ email: String) {
        #expect(ContactCheck.emailProblem(email) != nil, "\(email.debugDescription)")
    }

    @Test(arguments: ["ana@example.com", "a.b+tag@sub.example.co.uk", "x@localhost", "josé@exämple.de", "O'Brien@example.ie"])
    func acceptsEmail(_ email: String) {
        #expect(ContactCheck.emailProblem(email) == nil, "\(email)")
    }

    @Test(arguments: ["+1555\r\n", "+1555\nX", "555-CALL-NOW", "+", "123", "+1 (555) 123-4567 ext 9", "1234567890123456", "++15551234567", "+1  555"])
    func refusesPhone(_ phone: String) {
        #expect(ContactCheck.phoneProblem(phone) != nil, "\(phone.debugDescription)")
    }

    @Test(arguments: ["+15551234567", "+1555", "+44 20 7123 4567", "+1 (555) 123-4567", "030.1234.5678", "0049-30-1234567"])
    func acceptsPhone(_ phone: String) {
        #expect(ContactCheck.phoneProblem(phone) == nil, "\(phone)")
    }

    @Test func aLineWithAnInjectedHeaderIsRejectedWithItsReason() {
        let d = RecordDecoder()
        var fields = RecordDecoderTests.backorder
        fields.append(("customer.email", .string("a@b.com\r\nBcc: evil@x.com")))
        #expect(throws: RecordError("field 'customer.email' is not an e-mail address: it must hold exactly one '@'")) {
            try d.decode(Fields(fields))
        }
        var phone = RecordDecoderTests.backorder
        phone.append(("customer.phone", .string("+1555\r\nX")))
        #expect(throws: RecordError("field 'customer.phone' is not a phone number: it may hold only digits, a leading '+', and spaces, hyphens, dots or parentheses")) {
            try d.decode(Fields(phone))
        }
    }
}
