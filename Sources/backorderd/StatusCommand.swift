import ArgumentParser
import Daemon
import Foundation

/// `backorderd status`: open backorders, stock waiting, queue depth, dead letters, files.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Show lines, queue, endpoints and files.")
    @OptionGroup var options: ConfigOption
    @Flag(help: "Print one JSON document.") var json = false

    func run() throws {
        let config = try options.load()
        let store = try options.openStateOnly()
        let r = try store.status(endpoints: config.endpoints.map(\.name))
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
            print(String(decoding: try enc.encode(r), as: UTF8.self))
            return
        }
        print("lines: waiting \(r.lines["waiting"] ?? 0), ready \(r.lines["ready"] ?? 0), fulfilled \(r.lines["fulfilled"] ?? 0), cancelled \(r.lines["cancelled"] ?? 0)")
        if let next = r.nextDeadline { print("next deadline (overdue / long wait): \(next)") }
        print("\nwaiting by SKU and location (most waited-for first):")
        if r.waiting.isEmpty { print("  none") }
        for p in r.waiting {
            print("  \(p.sku) @ \(p.location): \(p.waitingQty) units in \(p.waitingLines) line\(p.waitingLines == 1 ? "" : "s"), on hand \(p.onHand), reserved \(p.reserved)")
        }
        print("\nendpoints:")
        if r.endpoints.isEmpty { print("  none configured") }
        let configured = Set(config.endpoints.map(\.name))
        for e in r.endpoints {
            print("  \(e.name): pending \(e.pending), in flight \(e.inFlight), delivered \(e.delivered), dead \(e.dead), superseded \(e.superseded), breaker \(e.breaker)")
            if !configured.contains(e.name), e.pending + e.inFlight > 0 {
                print("    not in the configuration: its \(e.pending + e.inFlight) waiting become dead letters after delivery.removed_endpoint_grace "
                      + "(\(config.delivery.removedEndpointGrace)); move them with dead-letters requeue --endpoint \(e.name) --to NEW")
            }
            if let err = e.lastError { print("    last error \(e.lastErrorAt ?? ""): \(err)") }
        }
        print("\ndead letters: \(r.deadLetters)\(r.deadLetters > 0 ? " (backorderd dead-letters list)" : "")")
        print("\nfiles:")
        if r.files.isEmpty { print("  none") }
        for f in r.files { print("  \(f.name): \(f.lines) lines, offset \(f.offset), last applied \(f.updatedAt)") }
    }
}
