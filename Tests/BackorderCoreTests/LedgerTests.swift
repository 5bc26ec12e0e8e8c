import BackorderCore
import Testing

@Suite struct LedgerTests {
    let t0 = Instant(milliseconds: 1_000_000)
    let key = PositionKey(sku: "S", location: "default")

    func line(_ order: String, qty: Int64 = 1) -> Record {
        .backorder(BackorderLine(order: order, line: "1", key: key, qty: qty, orderedAt: t0, promisedAt: t0 + .days(3),
                                 customer: Customer(id: "C")))
    }

    @Test func stockSetsAndChangesOnHand() {
        var ws = WorkingSet()
        let l = Ledger()
        l.apply(.stock(StockChange(key: key, kind: .onHand(5))), defaultAt: t0, to: &ws)
        l.apply(.stock(StockChange(key: key, kind: .delta(-7))), defaultAt: t0, to: &ws)
        #expect(ws.positions[key]?.onHand == -2)
        #expect(ws.dirtyPositions == [key])
    }

    @Test func netCountsAddOpenLinesBack() {
        var ws = WorkingSet()
        let l = Ledger(stockCounts: .net)
        l.apply(line("O-1", qty: 2), defaultAt: t0, to: &ws)
        l.apply(line("O-2", qty: 3), defaultAt: t0, to: &ws)
        l.apply(.stock(StockChange(key: key, kind: .onHand(0))), defaultAt: t0, to: &ws)
        #expect(ws.positions[key]?.onHand == 5)
    }

    @Test func aNewPromiseResetsTheEstimate() {
        var ws = WorkingSet()
        let l = Ledger()
        l.apply(line("O-1"), defaultAt: t0, to: &ws)
        let later = BackorderLine(order: "O-1", line: "1", key: key, qty: 1, orderedAt: t0, promisedAt: t0 + .days(9), customer: Customer(id: "C"))
        l.apply(.backorder(later), defaultAt: t0, to: &ws)
        #expect(ws.lines[LineKey(order: "O-1", line: "1")]?.estimate == t0 + .days(9))
    }

    @Test func orderRecordsCloseEveryLine() {
        var ws = WorkingSet()
        let l = Ledger()
        l.apply(line("O-1"), defaultAt: t0, to: &ws)
        l.apply(.backorder(BackorderLine(order: "O-1", line: "2", key: key, qty: 1, orderedAt: t0, promisedAt: t0, customer: Customer(id: "C"))),
                defaultAt: t0, to: &ws)
        l.apply(.order(OrderClose(order: "O-1", status: .cancelled)), defaultAt: t0, to: &ws)
        #expect(ws.lines.values.allSatisfy { $0.status == .cancelled })
    }
}
