import ArgumentParser
import BackorderCore
import Daemon
import Foundation

/// `backorderd status`: open backorders, stock waiting, queue depth, dead letters, files.
/// One of the two renderers of `StatusReport` (the status page is the other).
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Show lines, queue, endpoints and files.")
    @OptionGroup var options: ConfigOption
    @Flag(help: "Print one JSON document.") var json = false

    func run() throws {
        let config = try options.load()
        let store = try options.openStateOnly()
        let names = config.endpoints.map(\.name)
        let r = try store.status(endpoints: names)
        let configured = Set(names)
        // Endpoints by name: the configured ones, and any other with messages.
        let endpoints = r.endpoints.filter { e in
            configured.contains(e.name) || e.pending + e.inFlight + e.dead + (e.delivered ?? 0) + (e.superseded ?? 0) > 0
        }.sorted { $0.name < $1.name }
        let lines = r.lines ?? [:]
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
            print(String(decoding: try enc.encode(StatusJSON(r, endpoints: endpoints)), as: UTF8.self))
            return
        }
        print("lines: waiting \(lines["waiting"] ?? 0), ready \(lines["ready"] ?? 0), fulfilled \(lines["fulfilled"] ?? 0), cancelled \(lines["cancelled"] ?? 0)")
        if let next = r.nextDeadline { print("next deadline (overdue / long wait): \(RFC3339.format(next))") }
        print("\nwaiting by SKU and location (most lines waiting first):")
        if r.waiting.isEmpty { print("  none") }
        for p in r.waiting {
            print("  \(p.sku) @ \(p.location): \(p.waitingUnits) units in \(p.waitingLines) line\(p.waitingLines == 1 ? "" : "s"), on hand \(p.onHand), reserved \(p.reserved)")
        }
        print("\nendpoints:")
        if endpoints.isEmpty { print("  none configured") }
        for e in endpoints {
            print("  \(e.name): pending \(e.pending), in flight \(e.inFlight), delivered \(e.delivered ?? 0), dead \(e.dead), superseded \(e.superseded ?? 0), breaker \(e.breaker)")
            if !configured.contains(e.name), e.pending + e.inFlight > 0 {
                print("    not in the configuration: its \(e.pending + e.inFlight) waiting become dead letters after delivery.removed_endpoint_grace "
                      + "(\(config.delivery.removedEndpointGrace)); move them with dead-letters requeue --endpoint \(e.name) --to NEW")
            }
            if let err = e.lastError { print("    last error \(e.lastErrorAt.map(RFC3339.format) ?? ""): \(err)") }
        }
        print("\ndead letters: \(r.deadLetters)\(r.deadLetters > 0 ? " (backorderd dead-letters list)" : "")")
        print("\nfiles:")
        if r.files.isEmpty { print("  none") }
        for f in r.files { print("  \(f.name): \(f.lines) lines, offset \(f.offset), last applied \(RFC3339.format(f.readAt))") }
    }
}

/// `status --json`: the report under the keys the command has always printed.
struct StatusJSON: Encodable {
    struct Position: Encodable {
        var sku: String, location: String, onHand: Int64, reserved: Int64, waitingLines: Int64, waitingQty: Int64
        enum CodingKeys: String, CodingKey {
            case sku, location, onHand = "on_hand", reserved, waitingLines = "waiting_lines", waitingQty = "waiting_qty"
        }
    }
    struct Endpoint: Encodable {
        var name: String, pending: Int, inFlight: Int, delivered: Int, dead: Int, superseded: Int, breaker: String
        var lastError: String?, lastErrorAt: String?
        enum CodingKeys: String, CodingKey {
            case name, pending, inFlight = "in_flight", delivered, dead, superseded, breaker, lastError = "last_error",
                 lastErrorAt = "last_error_at"
        }
    }
    struct File: Encodable {
        var name: String, offset: Int64, lines: Int64, updatedAt: String
        enum CodingKeys: String, CodingKey { case name, offset, lines, updatedAt = "updated_at" }
    }
    var lines: [String: Int]
    var waiting: [Position]
    var endpoints: [Endpoint]
    var deadLetters: Int
    var files: [File]
    var nextDeadline: String?
    enum CodingKeys: String, CodingKey {
        case lines, waiting, endpoints, deadLetters = "dead_letters", files, nextDeadline = "next_deadline"
    }

    init(_ r: StatusReport, endpoints: [StatusReport.Endpoint]) {
        lines = r.lines ?? [:]
        waiting = r.waiting.map {
            Position(sku: $0.sku, location: $0.location, onHand: $0.onHand, reserved: $0.reserved, waitingLines: $0.waitingLines,
                     waitingQty: $0.waitingUnits)
        }
        self.endpoints = endpoints.map {
            Endpoint(name: $0.name, pending: $0.pending, inFlight: $0.inFlight, delivered: $0.delivered ?? 0, dead: $0.dead,
                     superseded: $0.superseded ?? 0, breaker: $0.breaker, lastError: $0.lastError,
                     lastErrorAt: $0.lastErrorAt.map(RFC3339.format))
        }
        deadLetters = r.deadLetters
        files = r.files.map { File(name: $0.name, offset: $0.offset, lines: $0.lines, updatedAt: RFC3339.format($0.readAt)) }
        nextDeadline = r.nextDeadline.map(RFC3339.format)
    }
}
