import BackorderCore
import PropertyBased
import TestSupport
import Testing

/// Properties of the decision pass over random histories of records and clock ticks.
@Suite struct DeciderPropertyTests {
    static let histories = Gen.int(in: 0...100_000).array(of: 1...80)

    struct Run {
        var sim: Sim
        var events: [[Event]] = []
        var violations: [String] = []
    }

    /// Runs a history, checking the invariants after every step.
    static func run(_ codes: [Int], policy: DecisionPolicy, dates: Bool = false) -> Run {
        var r = Run(sim: Sim(policy))
        var everReady = Set<LineKey>()
        var toldDelays = Set<String>()
        var toldOverdue = Set<String>()
        var toldLongWait = Set<LineKey>()
        for step in Script.steps(codes, dates: dates) {
            let events: [Event]
            // A new promise from the shop starts a new story: its slips are news again.
            if case .record(.backorder(let b)) = step, let old = r.sim.ws.lines[LineKey(order: b.order, line: b.line)],
               old.status.isOpen, old.promisedAt != b.promisedAt {
                let prefix = "\(old.key)@"
                toldDelays = toldDelays.filter { !$0.hasPrefix(prefix) }
                toldOverdue = toldOverdue.filter { !$0.hasPrefix(prefix) }
            }
            switch step {
            case .record(let rec): events = r.sim.apply(rec)
            case .tick(let now): events = r.sim.tick(now)
            }
            r.events.append(events)
            let ws = r.sim.ws
            for e in events {
                switch e {
                case .ready(let k, _):
                    guard let line = ws.lines[k] else { continue }
                    // FIFO: nothing earlier of the same position is still waiting.
                    if policy.allocation == .fifo {
                        for other in ws.lines.values where other.position == line.position && other.status == .waiting
                            && (other.orderedAt.raw, other.key.order, other.key.line) < (line.orderedAt.raw, line.key.order, line.key.line) {
                            r.violations.append("fifo: \(k) readied before \(other.key)")
                        }
                    }
                case .delayed(let k, let to, _):
                    if !toldDelays.insert("\(k)@\(to.raw)").inserted { r.violations.append("slip told twice: \(k) to \(to)") }
                case .overdue(let k, let est, _):
                    if !toldOverdue.insert("\(k)@\(est.raw)").inserted { r.violations.append("overdue told twice: \(k)") }
                case .longWait(let k, _):
                    if !toldLongWait.insert(k).inserted { r.violations.append("long wait told twice: \(k)") }
                case .staff: break
                }
            }
            // Reservations: exactly the ready lines, and never more than was there when reserved.
            for (key, p) in ws.positions {
                let ready = ws.lines.values.filter { $0.position == key && $0.status == .ready }.reduce(0) { $0 + $1.qty }
                if ready != p.reserved { r.violations.append("reserved \(p.reserved) != ready lines \(ready) at \(key)") }
                let waiting = ws.lines.values.filter { $0.position == key && $0.status == .waiting }.count
                if waiting != p.waitingLines { r.violations.append("waiting_lines \(p.waitingLines) != \(waiting) at \(key)") }
            }
            for e in events {
                if case .ready(let k, _) = e, let line = ws.lines[k], let p = ws.positions[line.position],
                   case .record(.stock) = step, p.available < 0 {
                    r.violations.append("reserved more than available for \(k)")
                }
            }
            // Ready lines never revert.
            for (k, l) in ws.lines {
                if l.status == .ready { everReady.insert(k) }
                if everReady.contains(k), l.status == .waiting { r.violations.append("\(k) went back to waiting") }
            }
        }
        return r
    }

    /// With `dates`, promises and arrivals are partly calendar dates.
    @Test(arguments: [DecisionPolicy.Allocation.fifo, .fill], [false, true])
    func invariantsHold(allocation: DecisionPolicy.Allocation, dates: Bool) async {
        await propertyCheck(count: 300, input: Self.histories) { codes in
            let r = Self.run(codes, policy: DecisionPolicy(allocation: allocation, grace: .hours(12), longWait: .days(10), lowStockThreshold: 2),
                             dates: dates)
            #expect(r.violations.isEmpty, "\(r.violations.prefix(3))")
        }
    }

    @Test func replayGivesTheSameDecisions() async {
        await propertyCheck(count: 200, input: Self.histories) { codes in
            let policy = DecisionPolicy(longWait: .days(10), lowStockThreshold: 2)
            let a = Self.run(codes, policy: policy)
            let b = Self.run(codes, policy: policy)
            #expect(a.events == b.events)
            #expect(a.sim.ws.lines == b.sim.ws.lines)
        }
    }
}
