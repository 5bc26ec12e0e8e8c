/// A renderer without templates: a one-line summary per channel. Used where no
/// templates are configured (tests of the store, `replay` without a configuration).
public struct PlainRenderer: NoticeRenderer {
    public init() {}

    public func render(_ notice: Notice) throws -> RenderedMessage {
        let line: String
        switch notice.content {
        case .customer(let c):
            line = "\(notice.type) order \(c.order): " + c.lines.map { "\($0.qty) x \($0.sku)" }.joined(separator: ", ")
        case .staff(let a):
            line = "\(notice.type) \(a.key.sku) at \(a.key.location): available \(a.available)"
        }
        return RenderedMessage(subject: line, text: line, sms: String(line.prefix(160)))
    }
}
