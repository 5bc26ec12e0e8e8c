/// The decision pass: applies records to a working set one at a time, in file order,
/// and reports what customers and staff must be told.
///
/// Pure: it reads no clock and does no I/O. A record's time is its `at`, or the time
/// its batch was read; a clock wake passes the time it woke at.
public struct Decider: Sendable {
    public var policy: DecisionPolicy
    /// Waiting lists at least this long keep a `TailProjection` (tests set it to compare
    /// with and without).
    var tailMinimum = TailProjection.minimumLines

    public init(policy: DecisionPolicy = DecisionPolicy()) {
        self.policy = policy
    }

    /// Applies one record, then settles every position it touched. A record that would
    /// take a count past `QuantityLimit.position` is refused before it changes anything.
    public func apply(_ record: Record, defaultAt: Instant, to ws: inout WorkingSet, events: inout [Event]) throws(RecordError) {
        try checkBounds(record, in: ws)
        let now: Instant
        var touched: [PositionKey] = []
        switch record {
        case .stock(let s):
            now = s.at ?? defaultAt
            var p = ws.position(s.key, at: now)
            switch s.kind {
            case .onHand(let v):
                // A net count already subtracts every open line: the ready ones (reserved) and the waiting ones.
                p.onHand = policy.stockCounts == .net ? v + p.reserved + ws.waitingLines(of: s.key).reduce(0) { $0 + $1.qty } : v
            case .delta(let d):
                p.onHand += d
            }
            p.updatedAt = max(p.updatedAt, now)
            ws.put(p)
            touched.append(s.key)
        case .restock(let r):
            now = r.at ?? defaultAt
            let key = RestockKey(po: r.po, position: r.key)
            var expected = r.expectedAt
            if let old = ws.restock(key), policy.calendar.same(old.expectedAt, expected) { expected = old.expectedAt }
            ws.put(Restock(key: key, quantity: r.quantity, expectedAt: expected, status: r.status, updatedAt: now))
            touched.append(r.key)
        case .backorder(let b):
            now = b.at ?? defaultAt
            let key = LineKey(order: b.order, line: b.line)
            let zone = policy.calendar.zone(named: b.customer.timezone)
            if let row = ws.lineRow(key) {
                var line = ws.line(at: row)
                // A closed line stays closed: a late copy of its record changes nothing.
                guard line.status.isOpen else { return }
                // The same promise spelled the other way (a date, or its midnight as an
                // instant) is no new promise: the estimate given stands.
                if !policy.calendar.same(line.promisedAt, b.promisedAt) {
                    line.promisedAt = b.promisedAt
                    line.estimate = b.promisedAt
                }
                line.customer = b.customer
                line.zone = zone
                line.orderedAt = b.orderedAt
                if line.status == .waiting {
                    if line.position != b.key { touched.append(line.position) }
                    line.position = b.key
                    line.qty = b.qty
                } else if line.qty != b.qty, line.position == b.key {
                    var p = ws.position(line.position, at: now)
                    p.reserved += b.qty - line.qty
                    ws.put(p)
                    line.qty = b.qty
                }
                line.updatedAt = max(line.updatedAt, now)
                line.deadline = deadline(of: line)
                ws.put(line, at: row)
            } else {
                var line = OrderLine(key: key, position: b.key, qty: b.qty, orderedAt: b.orderedAt, promisedAt: b.promisedAt,
                                     estimate: b.promisedAt, status: .waiting, customer: b.customer, updatedAt: now, zone: zone)
                line.deadline = deadline(of: line)
                ws.put(line)
            }
            touched.append(b.key)
        case .order(let o):
            now = o.at ?? defaultAt
            let keys = o.line.map { [LineKey(order: o.order, line: $0)] } ?? ws.lineKeys(ofOrder: o.order)
            for key in keys {
                guard let row = ws.lineRow(key) else { continue }
                var line = ws.line(at: row)
                guard line.status.isOpen else { continue }
                if line.status == .ready {
                    var p = ws.position(line.position, at: now)
                    p.reserved -= line.qty
                    if o.status == .fulfilled { p.onHand -= line.qty }
                    p.updatedAt = max(p.updatedAt, now)
                    ws.put(p)
                }
                line.status = o.status == .fulfilled ? .fulfilled : .cancelled
                line.deadline = nil
                line.projected = nil
                line.updatedAt = now
                ws.put(line, at: row)
                touched.append(line.position)
            }
        }
        var seen = Set<PositionKey>()
        for key in touched where seen.insert(key).inserted {
            settle(key, now: now, ws: &ws, events: &events)
        }
    }

    /// Refuses a record whose counts would leave the bounds positions are kept in
    /// (`QuantityLimit`). Reads only; the record's own quantities were bounded when read.
    func checkBounds(_ record: Record, in ws: borrowing WorkingSet) throws(RecordError) {
        let limit = QuantityLimit.position
        switch record {
        case .stock(let s):
            switch s.kind {
            case .onHand(let v):
                guard policy.stockCounts == .net else { return }  // a count on its own is bounded already
                var total = v + ws.position(s.key, at: Instant(milliseconds: 0)).reserved  // both bounded: no overflow
                for l in ws.waitingLines(of: s.key) {
                    total += l.qty
                    if total > limit { break }
                }
                if total > limit {
                    throw RecordError("a net count of \(v) plus the units open at \(s.key) makes more than \(limit) on hand")
                }
            case .delta(let d):
                let p = ws.position(s.key, at: Instant(milliseconds: 0))
                let result = p.onHand + d
                if result > limit || result < -limit {
                    throw RecordError("a delta of \(d) takes on_hand of \(s.key) from \(p.onHand) past ±\(limit)")
                }
            }
        case .backorder(let b):
            guard let line = ws.line(LineKey(order: b.order, line: b.line)), line.status == .ready,
                  line.qty != b.qty, line.position == b.key else { return }
            let reserved = ws.position(b.key, at: Instant(milliseconds: 0)).reserved + (b.qty - line.qty)
            if reserved > limit {
                throw RecordError("a quantity of \(b.qty) takes the units reserved at \(b.key) past \(limit)")
            }
        case .order(let o):
            guard o.status == .fulfilled else { return }
            let keys = o.line.map { [LineKey(order: o.order, line: $0)] } ?? ws.lineKeys(ofOrder: o.order)
            var shipped: [PositionKey: Int64] = [:]
            for key in keys {
                guard let line = ws.line(key), line.status == .ready else { continue }
                shipped[line.position, default: 0] += line.qty
            }
            for (key, qty) in shipped where ws.position(key, at: Instant(milliseconds: 0)).onHand - qty < -limit {
                throw RecordError("fulfilling \(qty) units takes on_hand of \(key) below -\(limit)")
            }
        case .restock:
            return
        }
    }

    /// The clock's pass: long waits and overdue estimates of every loaded waiting line
    /// whose deadline is at or before `now`.
    public func tick(now: Instant, to ws: inout WorkingSet, events: inout [Event]) {
        let due = ws.dueLines(at: now)
        var keys = Set<PositionKey>()
        for l in due { keys.insert(l.position) }
        // Projections first: a purchase order now late counts as unknown.
        for key in keys.sorted() { settle(key, now: now, ws: &ws, events: &events) }
        let cal = policy.calendar
        let inOrder = due.map { (cal.ordering($0.orderedAt), $0) }.sorted { ($0.0, $0.1.key) < ($1.0, $1.1.key) }.map(\.1)
        for var line in inOrder {
            guard let row = ws.lineRow(line.key) else { continue }
            line = ws.line(at: row)
            guard line.status == .waiting else { continue }
            line.updatedAt = max(line.updatedAt, now)
            if !line.longWaitSent, cal.after(line.orderedAt, policy.longWait, in: line.zone) <= now {
                line.longWaitSent = true
                events.append(.longWait(line.key, at: now))
            }
            if let estimate = line.estimate, cal.passes(estimate, after: policy.grace, in: line.zone) <= now {
                events.append(.overdue(line.key, estimate: estimate, at: now))
                line.estimate = nil
            }
            line.deadline = deadline(of: line)
            ws.put(line, at: row)
        }
    }

    /// Allocation, projection, delay notices and staff alerts for one position.
    func settle(_ key: PositionKey, now recordTime: Instant, ws: inout WorkingSet, events: inout [Event]) {
        var p = ws.position(key, at: recordTime)
        // A position's time never runs backwards: a record stamped earlier than what was
        // already decided must not make a passed date look like news again.
        let now = max(recordTime, p.updatedAt)
        p.updatedAt = now
        let row = ws.positionRowMaking(key)
        // A quiet position: nothing to allot, no purchase order, no line with a projected
        // date. Lines joining or leaving it change its counts only, so it needs no walk
        // (and its list no order) until stock or a purchase order arrives.
        if ws.quickLinks, p.available <= 0, ws.projectedPrefix(row) == 0, !ws.hasOpenRestock(row) {
            p.waitingLines = Int64(ws.listed(row))
            p.openRestocks = 0
            alerts(&p, now: now, waiting: { Self.waitingUnits(key, ws) }, nextRestock: nil, events: &events)
            ws.put(p)
            return
        }
        // Only lines appended since the last settle, nothing to allocate and no projected
        // date passed: the lines before stand as they were (`TailProjection`).
        if p.available <= 0, let tail = ws.tail(row), now.milliseconds < tail.passAt {
            settleAppended(key, row: row, tail: tail, position: p, now: now, ws: &ws, events: &events)
            return
        }
        var waiting = ws.waitingRowsInOrder(of: key)
        // Allocation: first come, first served.
        var readied = false
        var passed: [Int32] = []
        var i = 0
        while i < waiting.count, p.available > 0 {
            var line = ws.line(at: waiting[i])
            if p.available >= line.qty {
                line.status = .ready
                line.readyAt = now
                line.projected = nil
                line.deadline = nil
                line.updatedAt = now
                p.reserved += line.qty
                events.append(.ready(line.key, at: now))
                ws.put(line, at: waiting[i])
                readied = true
            } else if policy.allocation == .fifo {
                break
            } else {
                passed.append(waiting[i])
            }
            i += 1
        }
        if readied { waiting = passed + waiting[i...] }
        // Projection: what is on hand, then open purchase orders by arrival, in allocation
        // order. Lines past the last one that had a date, once the supply is used up, keep
        // their unknown date: they need no visit.
        let restocks = ws.openRestocks(of: key)
        var supply = Supply(shelf: max(0, p.available), restock: 0, restockLeft: restocks.first?.quantity ?? 0)
        let previousPrefix = ws.projectedPrefix(row) ?? waiting.count
        var prefix = 0
        var passAt = Int64.max
        i = 0
        while i < waiting.count, supply.shelf > 0 || supply.restock < restocks.count || i < previousPrefix {
            if let d = project(waiting[i], supply: &supply, restocks: restocks, now: now, ws: &ws, events: &events) {
                prefix = i + 1
                passAt = min(passAt, d.milliseconds)
            }
            i += 1
        }
        ws.setProjectedPrefix(row, prefix)
        p.waitingLines = Int64(waiting.count)
        p.openRestocks = Int64(restocks.count)
        alerts(&p, now: now, waiting: { waiting.reduce(0) { min($0 + ws.qty(at: $1), QuantityLimit.position) } },
               nextRestock: restocks.first?.expectedAt, events: &events)
        ws.put(p)
        // Lines past where the walk stopped take nothing: the supply left is the tail's.
        if waiting.count >= tailMinimum {
            ws.setTail(row, TailProjection(supply: supply, passAt: passAt, count: waiting.count, prefix: prefix))
        } else {
            ws.dropTail(Int(row))
        }
    }

    /// `settle` for a position whose list only grew at its end since its last settle:
    /// the appended lines are projected from the supply their predecessors left.
    private func settleAppended(_ key: PositionKey, row: Int32, tail: TailProjection, position: Position, now: Instant,
                                ws: inout WorkingSet, events: inout [Event]) {
        var p = position
        var t = tail
        let restocks = ws.openRestocks(of: key)
        if t.firstAppended != -1 {
            for r in ws.rows(from: t.firstAppended) {
                t.count += 1
                if let d = project(r, supply: &t.supply, restocks: restocks, now: now, ws: &ws, events: &events) {
                    t.prefix = t.count
                    t.passAt = min(t.passAt, d.milliseconds)
                }
            }
            t.firstAppended = -1
        }
        ws.setProjectedPrefix(row, t.prefix)
        p.waitingLines = Int64(t.count)
        p.openRestocks = Int64(restocks.count)
        alerts(&p, now: now, waiting: { Self.waitingUnits(key, ws) }, nextRestock: restocks.first?.expectedAt, events: &events)
        ws.put(p)
        ws.setTail(row, t)
    }

    private static func waitingUnits(_ key: PositionKey, _ ws: borrowing WorkingSet) -> Int64 {
        ws.waitingRows(of: key).reduce(0) { min($0 + ws.qty(at: $1), QuantityLimit.position) }
    }

    /// Projects one waiting line from the supply left before it, tells a delay, and
    /// returns when its projected date passes (nil when it has none).
    private func project(_ row: Int32, supply: inout Supply, restocks: [Restock], now: Instant, ws: inout WorkingSet,
                         events: inout [Event]) -> Instant? {
        var line = ws.line(at: row)
        var need = line.qty
        let fromShelf = min(supply.shelf, need)
        supply.shelf -= fromShelf
        need -= fromShelf
        var date: Moment? = nil
        while need > 0, supply.restock < restocks.count {
            let take = min(supply.restockLeft, need)
            need -= take
            supply.restockLeft -= take
            date = restocks[supply.restock].expectedAt
            if supply.restockLeft == 0 {
                supply.restock += 1
                supply.restockLeft = supply.restock < restocks.count ? restocks[supply.restock].quantity : 0
            }
        }
        var projected = need == 0 ? date : nil
        // Past dates are unknown; "now" never runs back for the line either (it may
        // have moved from a position whose clock was further on).
        if let d = projected, policy.calendar.hasPassed(d, at: max(now, line.updatedAt), in: line.zone) { projected = nil }
        var changed = line.projected != projected
        line.projected = projected
        if let d = projected, line.estimate.map({ policy.calendar.isLater(d, than: $0, in: line.zone) }) ?? true {
            events.append(.delayed(line.key, to: d, at: now))
            line.estimate = d
            line.deadline = deadline(of: line)
            changed = true
        }
        if changed { ws.put(line, at: row) }
        return projected.map { policy.calendar.passes($0, in: line.zone) }
    }

    /// Edge-triggered staff alerts, armed once the position is seen at or above the threshold.
    func alerts(_ p: inout Position, now: Instant, waiting: () -> Int64, nextRestock: Moment?, events: inout [Event]) {
        let available = p.available
        if available >= policy.lowStockThreshold {
            p.alertArmed = true
            p.alertsFired = []
            return
        }
        guard p.alertArmed else { return }
        let kind: StaffAlert.Kind
        if p.onHand < p.reserved {
            guard !p.alertsFired.contains(.oversold) else { return }
            kind = .oversold
            p.alertsFired.formUnion([.oversold, .out, .low])
        } else if available <= 0 {
            guard !p.alertsFired.contains(.out) else { return }
            kind = .out
            p.alertsFired.formUnion([.out, .low])
        } else {
            guard !p.alertsFired.contains(.low) else { return }
            kind = .low
            p.alertsFired.insert(.low)
        }
        p.alertCount += 1
        events.append(.staff(StaffAlert(kind: kind, key: p.key, sequence: p.alertCount, at: now, onHand: p.onHand,
                                        reserved: p.reserved, available: available, waitingQty: waiting(),
                                        nextRestockAt: nextRestock)))
    }

    /// The next time the clock must look at a waiting line.
    public func deadline(of line: OrderLine) -> Instant? {
        guard line.status == .waiting else { return nil }
        let cal = policy.calendar
        var d: Instant? = line.estimate.map { cal.passes($0, after: policy.grace, in: line.zone) }
        if !line.longWaitSent {
            let lw = cal.after(line.orderedAt, policy.longWait, in: line.zone)
            d = d.map { min($0, lw) } ?? lw
        }
        return d
    }
}
