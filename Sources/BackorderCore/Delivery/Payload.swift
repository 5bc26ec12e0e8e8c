/// The rendered text of a message, one version per channel.
public struct RenderedMessage: Equatable, Sendable {
    public var subject: String
    public var text: String
    /// At most 160 characters.
    public var sms: String

    public init(subject: String, text: String, sms: String) {
        self.subject = subject
        self.text = text
        self.sms = sms
    }
}

/// Renders the human text of a notice (templates live at the edge, not in the core).
public protocol NoticeRenderer: Sendable {
    func render(_ notice: Notice) throws -> RenderedMessage
}

/// Writes a notice as its Standard Webhooks body. Keys come in a fixed order and
/// nothing depends on the clock, so the same notice always gives the same bytes.
public enum Payload {
    public static func body(_ notice: Notice, message: RenderedMessage) -> [UInt8] {
        var w = JSONWriter()
        w.open()
        w.key("type"); w.string(notice.type.rawValue)
        w.key("timestamp"); w.string(RFC3339.format(Instant(milliseconds: notice.at.milliseconds / 1000 * 1000)))
        w.key("data")
        w.open()
        switch notice.content {
        case .customer(let c):
            w.key("order"); w.string(c.order)
            w.key("customer")
            w.open()
            w.key("id"); w.string(c.recipient.id)
            w.key("name"); w.optional(c.recipient.name)
            w.key("email"); w.optional(c.recipient.email)
            w.key("phone"); w.optional(c.recipient.phone)
            w.key("locale"); w.string(c.recipient.locale)
            if let tz = c.recipient.timezone { w.key("timezone"); w.string(tz) }
            w.close()
            w.key("lines"); lines(c.lines, &w)
            w.key("remaining"); lines(c.remaining, &w)
            if let url = c.cancelURL { w.key("cancel_url"); w.string(url) }
        case .staff(let a):
            w.key("sku"); w.string(a.key.sku)
            w.key("location"); w.string(a.key.location)
            w.key("on_hand"); w.int(a.onHand)
            w.key("reserved"); w.int(a.reserved)
            w.key("available"); w.int(a.available)
            w.key("waiting_qty"); w.int(a.waitingQty)
            w.key("next_restock_at"); w.optional(a.nextRestockAt?.description)
        }
        w.key("message")
        w.open()
        w.key("subject"); w.string(message.subject)
        w.key("text"); w.string(message.text)
        w.key("sms"); w.string(message.sms)
        w.close()
        w.close()
        w.close()
        return w.bytes
    }

    private static func lines(_ lines: [NoticeLine], _ w: inout JSONWriter) {
        w.openArray()
        for l in lines {
            w.open()
            w.key("line"); w.string(l.line)
            w.key("sku"); w.string(l.sku)
            w.key("qty"); w.int(l.qty)
            w.key("location"); w.string(l.location)
            w.key("promised_at"); w.string(l.promisedAt.description)
            w.key("expected_at"); w.optional(l.expectedAt?.description)
            w.close()
        }
        w.closeArray()
    }
}

/// A minimal JSON writer with commas handled.
struct JSONWriter {
    var bytes: [UInt8] = []
    private var needComma: [Bool] = []

    mutating func open() { value(); bytes.append(0x7B); needComma.append(false) }
    mutating func close() { bytes.append(0x7D); needComma.removeLast() }
    mutating func openArray() { value(); bytes.append(0x5B); needComma.append(false) }
    mutating func closeArray() { bytes.append(0x5D); needComma.removeLast() }

    mutating func key(_ k: String) {
        if needComma.last == true { bytes.append(0x2C) }
        if !needComma.isEmpty { needComma[needComma.count - 1] = true }
        JSONText.appendString(k, to: &bytes)
        bytes.append(0x3A)
        pendingKey = true
    }

    private var pendingKey = false

    private mutating func value() {
        if pendingKey { pendingKey = false; return }
        if needComma.last == true { bytes.append(0x2C) }
        if !needComma.isEmpty { needComma[needComma.count - 1] = true }
    }

    mutating func string(_ s: String) { value(); JSONText.appendString(s, to: &bytes) }
    mutating func int(_ i: Int64) { value(); bytes += Array(String(i).utf8) }
    mutating func null() { value(); bytes += Array("null".utf8) }
    mutating func optional(_ s: String?) { if let s { string(s) } else { null() } }
}
