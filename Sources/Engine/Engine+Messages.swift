import BackorderCore
import Crypto

extension Engine {
    /// The webhook id of a notice: derived from the event, never from the attempt, so a
    /// replay of the same input gives the same id and receivers can deduplicate on it.
    public static func webhookID(_ notice: Notice) -> String {
        let digest = SHA256.hash(data: Array(notice.idSeed.utf8))
        let hex = Array("0123456789abcdef".utf8)
        var out = Array("msg_".utf8)
        for b in digest.prefix(16) {
            out.append(hex[Int(b >> 4)])
            out.append(hex[Int(b & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The messages to queue for `notices`: each rendered once, with its id and the
    /// endpoints that take it (a notice no endpoint takes is left out). Adds the time
    /// spent in the templates to `rendering`.
    func queued(_ notices: [Notice], rules: Rules, rendering: inout Duration) -> [QueuedMessage] {
        var out: [QueuedMessage] = []
        out.reserveCapacity(notices.count)
        for notice in notices {
            let endpoints = rules.endpoints(for: notice.type)
            guard !endpoints.isEmpty else { continue }
            out.append(message(notice, to: endpoints, rules: rules, rendering: &rendering))
        }
        return out
    }

    /// One notice as the message queued for `endpoints`; the time spent in the templates
    /// is added to `rendering`.
    func message(_ notice: Notice, to endpoints: [String], rules: Rules, rendering: inout Duration) -> QueuedMessage {
        var zone: String? = nil
        var customer = false
        if case .customer(let c) = notice.content {
            customer = true
            zone = c.recipient.timezone
        }
        let start = ContinuousClock.now
        let body = Payload.body(notice, message: render(notice, with: rules))
        rendering += ContinuousClock.now - start
        return QueuedMessage(webhookID: Self.webhookID(notice), type: notice.type, orderKey: notice.orderKey,
                             lineKeys: notice.lineKeys, zone: zone, isCustomerMessage: customer, body: body, endpoints: endpoints)
    }

    /// A notice's message text; a template that fails (the configuration check renders
    /// each one, so this is rare) falls back to the type, logged.
    func render(_ notice: Notice, with rules: Rules) -> RenderedMessage {
        do {
            return try rules.renderer.render(notice)
        } catch {
            logger.error("render_failed", metadata: ["order": "\(notice.orderKey)", "type": "\(notice.type)", "error": "\(error)"])
            let name = notice.type.rawValue
            return RenderedMessage(subject: name, text: name, sms: name)
        }
    }
}
