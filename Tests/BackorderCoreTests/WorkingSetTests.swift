@testable import BackorderCore
import Testing
import TestSupport

/// The working set's compact storage: its hash index against a dictionary, and rows that
/// are freed, reused and given back.
@Suite struct WorkingSetTests {
    /// The chunked row table against an array: appends across chunk boundaries, rows
    /// changed in place, and truncation to a chunk's edge, inside one and to nothing.
    @Test func rowTableAgreesWithAnArray() {
        var rng = SplitMix(seed: 7)
        var table = RowTable<Int>()
        var model: [Int] = []
        let chunk = RowTable<Int>.chunkSize
        for round in 0..<6 {
            for _ in 0..<Int.random(in: 1...(3 * chunk), using: &rng) {
                let v = Int.random(in: 0..<1_000_000, using: &rng)
                table.append(v)
                model.append(v)
            }
            for _ in 0..<1_000 {
                let i = Int.random(in: 0..<model.count, using: &rng)
                table[i] += 1
                model[i] += 1
            }
            #expect(table.count == model.count && table.indices.map { table[$0] } == model)
            let ends = [model.count, model.count - 1, (model.count / chunk) * chunk, model.count / 2, 1, 0]
            let end = ends[round]
            table.truncate(to: end)
            model.removeSubrange(end...)
            #expect(table.count == model.count && table.indices.map { table[$0] } == model, "truncated to \(end)")
        }
        #expect(table.isEmpty && table.count == 0)
    }

    /// Changes are handed over in their keys' byte order (SQLite's), whatever order they
    /// were made in: positions by SKU then location, lines by order then line.
    @Test func changesComeInKeyOrder() {
        var rng = SplitMix(seed: 11)
        var ws = WorkingSet()
        let skus = ["B-2", "A", "b", "A-10", "A-9", "Z", "a"], locations = ["west", "East", "east", "north"]
        var keys: [PositionKey] = []
        for s in skus { for l in locations { keys.append(PositionKey(sku: s, location: l)) } }
        keys.shuffle(using: &rng)
        for k in keys { ws.put(Position(key: k, onHand: 1, updatedAt: Instant(milliseconds: 0))) }
        for (i, k) in keys.enumerated() { ws.put(Self.line("O-\(i % 13)", String(i), sku: k.sku, at: Int64(i))) }
        let changes = ws.takeChanges()
        let positions = changes.positions.map { [Array($0.key.sku.utf8), Array($0.key.location.utf8)] }
        #expect(positions.count == keys.count && positions == positions.sorted { $0.lexicographicallyPrecedes($1) { $0.lexicographicallyPrecedes($1) } })
        let lines = changes.lines.map { [Array($0.key.order.utf8), Array($0.key.line.utf8)] }
        #expect(lines.count == keys.count && lines == lines.sorted { $0.lexicographicallyPrecedes($1) { $0.lexicographicallyPrecedes($1) } })
    }

    /// Random inserts, removals, replacements and lookups with few distinct hashes (long
    /// runs that wrap around the table), checked against a dictionary after every step.
    @Test(arguments: [1, 2, 3])
    func slotTableAgreesWithADictionary(seed: UInt64) {
        var rng = SplitMix(seed: seed)
        var table = SlotTable()
        var model: [Int32: UInt32] = [:]  // row → hash
        var nextRow: Int32 = 0
        for step in 0..<20_000 {
            let op = Int.random(in: 0..<10, using: &rng)
            if op < 5 || model.isEmpty {
                let hash = UInt32.random(in: 0..<48, using: &rng) &* 0x9E37_79B9 | UInt32(step % 3)
                table.insert(hash, row: nextRow)
                model[nextRow] = hash
                nextRow += 1
            } else if op < 8 {
                let row = model.keys.randomElement(using: &rng)!
                table.remove(model[row]!, row: row)
                model[row] = nil
            } else {
                let row = model.keys.randomElement(using: &rng)!
                table.replace(model[row]!, row: row, with: nextRow)
                model[nextRow] = model[row]
                model[row] = nil
                nextRow += 1
            }
            #expect(table.count == model.count)
            if step % 97 == 0 {
                for (row, hash) in model {
                    #expect(table.find(hash) { $0 == row } == row, "step \(step): row \(row) lost")
                }
                #expect(table.find(12345) { _ in true } == nil || model.values.contains(12345))
            }
        }
    }

    static let t0 = Instant(milliseconds: 1_800_000_000_000)

    static func line(_ order: String, _ line: String = "1", sku: String = "S", at minute: Int64,
                     status: LineStatus = .waiting) -> OrderLine {
        OrderLine(key: LineKey(order: order, line: line), position: PositionKey(sku: sku, location: "L"), qty: 1,
                  orderedAt: .instant(t0 + .minutes(minute)), promisedAt: .instant(t0 + .days(3)), estimate: .instant(t0 + .days(3)), status: status,
                  customer: nil, updatedAt: t0)
    }

    @Test func linesLoadedOutOfOrderWaitInAllocationOrder() {
        var ws = WorkingSet()
        var rng = SplitMix(seed: 7)
        let minutes = (0..<500).map { Int64($0 / 3) }.shuffled(using: &rng)  // ties on the time, broken by order id
        for (i, m) in minutes.enumerated() { ws.load(Self.line("O-\(i)", at: m)) }
        let order = ws.waitingLines(of: PositionKey(sku: "S", location: "L"))
        #expect(order.count == 500)
        #expect(order == order.sorted { ($0.orderedAt.raw, $0.key.order, $0.key.line) < ($1.orderedAt.raw, $1.key.order, $1.key.line) })
        // A line put after the load lands in its place.
        ws.put(Self.line("O-new", at: 50))
        let after = ws.waitingLines(of: PositionKey(sku: "S", location: "L"))
        #expect(after == after.sorted { ($0.orderedAt.raw, $0.key.order) < ($1.orderedAt.raw, $1.key.order) })
        #expect(after.count == 501)
    }

    @Test func closedLinesAreEvictedAndTheirRowsReusedAndGivenBack() {
        var ws = WorkingSet()
        let n = 40_000
        for i in 0..<n { ws.put(Self.line("O-\(i / 2)", String(i % 2), sku: "S\(i % 97)", at: Int64(i))) }
        ws.committed(ws.takeChanges())
        #expect(ws.counts.lines == n)
        // Close every line but the last 100; the checkpoint evicts them.
        for i in 0..<(n - 100) {
            var l = ws.line(LineKey(order: "O-\(i / 2)", line: String(i % 2)))!
            l.status = .fulfilled
            ws.put(l)
        }
        ws.committed(ws.takeChanges())
        #expect(ws.counts.lines == 100)
        #expect(ws.line(LineKey(order: "O-0", line: "0")) == nil)
        #expect(ws.lineKeys(ofOrder: "O-0").isEmpty)
        #expect(ws.lineKeys(ofOrder: "O-\((n - 1) / 2)") == [LineKey(order: "O-\((n - 1) / 2)", line: "0"),
                                                             LineKey(order: "O-\((n - 1) / 2)", line: "1")])
        #expect(ws.lineRows.count == n, "the open lines sit at the end: nothing to give back yet")
        // New lines reuse the lowest free rows.
        for i in 0..<1_000 { ws.put(Self.line("N-\(i)", sku: "S1", at: Int64(n + i))) }
        #expect(ws.lineRows.count == n)
        #expect(ws.counts.lines == 1_100)
        #expect(ws.waitingLines(of: PositionKey(sku: "S1", location: "L")).suffix(1_000).map(\.key.order) == (0..<1_000).map { "N-\($0)" })
        // Once the end is free too, the rows past the last open line are released.
        for i in (n - 100)..<n {
            var l = ws.line(LineKey(order: "O-\(i / 2)", line: String(i % 2)))!
            l.status = .cancelled
            ws.put(l)
        }
        ws.committed(ws.takeChanges())
        #expect(ws.counts.lines == 1_000)
        #expect(ws.lineRows.count <= 1_000 + 16_384, "rows at the end given back (\(ws.lineRows.count) kept)")
        #expect(ws.lines.values.count == 1_000)
    }

    /// Changes are taken while a checkpoint is written and the decisions go on: memory
    /// lets go of a customer or a closed line only once the write holding it is durable,
    /// and never of what changed again since.
    @Test func committedLetsGoOnlyOfWhatIsDurableAndUnchangedSince() {
        var ws = WorkingSet()
        let o1 = LineKey(order: "O-1", line: "1"), o2 = LineKey(order: "O-2", line: "1")
        var a = Self.line("O-1", at: 0)
        a.customer = Customer(id: "C1", email: "one@example.com")
        ws.put(a)
        var b = Self.line("O-2", at: 1)
        b.customer = Customer(id: "C2", email: "two@example.com")
        ws.put(b)
        let first = ws.takeChanges()
        #expect(first.lines.map(\.key) == [o1, o2])
        #expect(first.lines.allSatisfy { $0.customer != nil })
        #expect(!ws.hasChanges)
        var moved = ws.line(o2)!
        moved.customer = Customer(id: "C2", email: "new@example.com")
        ws.put(moved)
        ws.committed(first)
        #expect(ws.line(o1)?.customer == nil, "written and unchanged since: its row has it")
        #expect(ws.line(o2)?.customer?.email == "new@example.com", "changed since: kept for the next write")
        var closed = ws.line(o1)!
        closed.status = .cancelled
        ws.put(closed)
        let second = ws.takeChanges()
        #expect(second.lines.map(\.key) == [o1, o2], "in key order (the order they are written in)")
        #expect(ws.line(o1)?.status == .cancelled, "closed, but the write is not durable yet: still here")
        ws.committed(second)
        #expect(ws.line(o1) == nil)
        #expect(ws.lineKeys(ofOrder: "O-1").isEmpty)
        #expect(ws.line(o2)?.customer == nil)
        #expect(ws.counts.lines == 1)
    }

    @Test func aRestockAndALineMayComeBeforeTheirPositionExists() {
        var ws = WorkingSet()
        let key = PositionKey(sku: "X", location: "L")
        ws.put(Restock(key: RestockKey(po: "P", position: key), quantity: 3, expectedAt: .instant(Self.t0 + .days(2)), status: .open,
                       updatedAt: Self.t0))
        ws.put(Self.line("O", sku: "X", at: 0))
        #expect(ws.position(key) == nil, "a row made to hang them on is not a position")
        #expect(ws.counts.positions == 0)
        #expect(ws.openRestocks(of: key).map(\.key.po) == ["P"])
        ws.put(Position(key: key, onHand: 1, updatedAt: Self.t0))
        #expect(ws.position(key)?.onHand == 1)
        #expect(ws.counts == (1, 1, 1))
    }
}
