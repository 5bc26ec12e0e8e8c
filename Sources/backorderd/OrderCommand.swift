import ArgumentParser
import Daemon
import Foundation

/// `backorderd order ID`: what support staff need when a customer asks about an order.
struct OrderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "order", abstract: "Show an order's lines and every message about it (works beside the daemon).")
    @OptionGroup var options: ConfigOption
    @Flag(help: "Print one JSON document.") var json = false
    @Argument(help: "The order id, as the change files spell it.") var id: String

    func run() throws {
        let config = try options.load()
        let store = try options.openStateOnly()
        guard let story = try store.orderStory(id, endpoints: config.endpoints.map(\.name)) else {
            FileHandle.standardError.write(Data("backorderd: no order \(id) in \(config.stateDirectory): no line and no message names it (ids are case-sensitive)\n".utf8))
            throw ExitCode(1)
        }
        if json {
            print(String(decoding: try JSONOutput.encoder.encode(story), as: UTF8.self))
            return
        }
        print("order \(story.order)")
        print("\nlines:")
        if story.lines.isEmpty { print("  none (only messages name this order)") }
        for l in story.lines {
            var parts = ["\(l.qty) x \(l.sku) @ \(l.location)", l.status, "ordered \(l.orderedAt)", "promised \(l.promisedAt)"]
            if let e = l.estimateAt, e != l.promisedAt { parts.append("estimate given \(e)") }
            if let p = l.projectedAt { parts.append("projected \(p)" + (l.waitsFor.map { " (purchase order \($0))" } ?? "")) }
            if let r = l.readyAt { parts.append("ready \(r)") }
            print("  line \(l.line): " + parts.joined(separator: ", "))
        }
        print("\nmessages:")
        if story.messages.isEmpty { print("  none") }
        for m in story.messages {
            var parts = [m.createdAt, m.type, "to \(m.endpoint)", m.state, "attempts \(m.attempts)"]
            if let d = m.deliveredAt { parts.append("delivered \(d)") }
            if let e = m.lastError { parts.append("last error: \(e)") }
            print("  " + parts.joined(separator: "  ") + "  \(m.webhookID)")
        }
    }
}

/// `backorderd message WEBHOOK_ID`: one message as it was sent, for each endpoint.
struct MessageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "message", abstract: "Show a message by its webhook id: its body as sent, every attempt, and where it stands.")
    @OptionGroup var options: ConfigOption
    @Flag(help: "Print one JSON document.") var json = false
    @Argument(help: "The webhook id (msg_…), as receivers log it.") var id: String

    func run() throws {
        let store = try options.openStateOnly()
        let copies = try store.message(id)
        guard !copies.isEmpty else {
            FileHandle.standardError.write(Data("backorderd: no message \(id) (it may have been pruned after state.retain_delivered)\n".utf8))
            throw ExitCode(1)
        }
        if json {
            print(String(decoding: try JSONOutput.encoder.encode(["webhook_id": id]).dropLast(), as: UTF8.self)
                  + ",\"copies\":" + String(decoding: try JSONOutput.encoder.encode(copies), as: UTF8.self) + "}")
            return
        }
        for m in copies {
            print("\(m.webhookID) \(m.type) for order \(m.order), to \(m.endpoint): \(m.state), \(m.attempts) attempt\(m.attempts == 1 ? "" : "s")")
            print("  made \(m.createdAt)" + (m.deliveredAt.map { ", delivered \($0)" } ?? ""))
            if let e = m.lastError { print("  last error: \(e)") }
            for a in m.history ?? [] { print("  attempt \(a.at): \(a.outcome)" + (a.detail.map { ", \($0)" } ?? "")) }
            if m.state == "dead" { print("  requeue: backorderd dead-letters requeue --endpoint \(m.endpoint) \(m.webhookID)") }
            print("  body: \(m.body ?? "")")
        }
    }
}

/// One JSON style for every command that prints JSON.
enum JSONOutput {
    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }()
}
