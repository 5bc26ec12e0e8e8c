#if canImport(Glibc)
import Glibc
#endif
import BackorderCore
import GRDB
import Logging

/// The daemon's path: decisions in memory (`Engine`), SQLite written at checkpoints.
extension Store {
    /// Decides a batch in memory; its rows, messages, rejects and cursor are written by
    /// the next checkpoint. Returns the cursor reached and the lines refused.
    public func decide(_ batch: IngestBatch) throws -> IngestResult {
        try engineLock.withLock {
            let e = try loadedEngine()
            try loadClosedLines(named: batch, into: e)
            var events: [Event] = []
            // The decider once per batch: a reload applies between batches.
            // Cut only a batch whose records each know where they end in the file.
            let cuttable = batch.records.allSatisfy { $0.endOffset >= 0 }
            let (applied0, refused0, decided) = Self.decide(batch, with: decider, on: &e.state, events: &events,
                                                            until: cuttable ? ContinuousClock.now + decideBudget : nil)
            var (applied, refused, batch) = (applied0, refused0, batch)
            if decided < batch.records.count {
                // Out of time: what was decided stands, the rest is read again after the
                // inbox has beaten its heartbeat.
                batch = Self.cut(batch, after: decided)
                refused.removeAll { $0.line > batch.records[decided - 1].endLine }
                applied = min(applied, decided)
            }
            // Messages no endpoint takes are counted (for the metrics), not kept: a reload
            // applies to the messages decided after it.
            e.notices += rules.notices(from: events, in: e.state, counting: &e.decided)
            var all = batch.rejects
            if !refused.isEmpty {
                all += refused
                all.sort { $0.line < $1.line }
            }
            e.rejects += all
            e.cursors[batch.cursor.id] = (batch.cursor, batch.readAt)
            e.records += batch.records.count
            return IngestResult(cursor: batch.cursor, applied: applied, rejects: all)
        }
    }

    /// How long the daemon decides one batch before it leaves the rest for the next read.
    /// A batch is bounded in lines and bytes, but not every line costs the same (a line
    /// put in the middle of a long list behind a purchase order walks the lines after
    /// it): the inbox beats its heartbeat between batches, so no batch may starve the
    /// systemd watchdog, whatever its shape.
    public static let decideBudget = Duration.seconds(2)

    /// Applies a batch's records in file order; a record the decision pass refuses (a
    /// count out of bounds) changed nothing and becomes a reject — its line is in the file.
    /// With `until`, stops after the first record decided at or past it: `decided` says
    /// how many were (at least one).
    static func decide(_ batch: IngestBatch, with decider: Decider, on ws: inout WorkingSet, events: inout [Event],
                       until deadline: ContinuousClock.Instant? = nil) -> (applied: Int, refused: [Reject], decided: Int) {
        var refused: [Reject] = []
        var applied = 0
        for (i, r) in batch.records.enumerated() {
            do throws(BackorderCore.RecordError) {
                try decider.apply(r.record, defaultAt: batch.readAt, to: &ws, events: &events)
                applied += 1
            } catch {
                refused.append(Reject(file: batch.cursor.name, line: r.line, reason: error.reason, raw: []))
            }
            if let deadline, i + 1 < batch.records.count, ContinuousClock.now >= deadline {
                return (applied, refused, i + 1)
            }
        }
        return (applied, refused, batch.records.count)
    }

    /// The part of a batch up to its `decided`th record: the cursor just after it (its
    /// tail fingerprint unknown until the next read stores one) and the reader's rejects
    /// of the lines before.
    static func cut(_ batch: IngestBatch, after decided: Int) -> IngestBatch {
        let last = batch.records[decided - 1]
        var b = batch
        b.records.removeSubrange(decided...)
        b.rejects.removeAll { $0.line > last.endLine }
        b.cursor.offset = last.endOffset
        b.cursor.line = last.endLine
        b.cursor.tailHash = nil
        return b
    }

    /// Decides a batch and writes a checkpoint when the policy says one is due (or at
    /// once with `force`). Once the batch is decided it is never decided again: a
    /// checkpoint that fails is logged, what it held stays in memory, and the next one
    /// writes it — so the inbox must read on, not repeat the batch.
    public func ingest(_ batch: IngestBatch, force: Bool = false) throws -> IngestResult {
        let result = try decide(batch)
        // A failed write is logged where it is found (`finishWrite`) and goes again with the next.
        _ = try? engineLock.withLock { try checkpoint(force: force, now: batch.readAt) }
        return result
    }

    /// Writes whatever was decided: the inbox caught up, or the daemon stops.
    @discardableResult
    public func flush(now: Instant? = nil) throws -> [Notice] {
        try engineLock.withLock {
            guard engine != nil else { return [] }
            return try checkpoint(force: true, now: now ?? clock())
        }
    }

    /// Starts a checkpoint when the policy says one is due (or at once with `force`):
    /// everything decided since the last one — changed rows, messages (rendered and
    /// queued), each file's cursor, the refused lines — in one transaction, so SQLite
    /// always holds a state that matches its cursors. The write runs on the
    /// `CheckpointWriter`'s thread while decisions go on; the one before it is finished
    /// first. With `force`, waits for it and returns the messages written (and throws if
    /// it failed: what it held goes again with the next). Call holding `engineLock`.
    func checkpoint(force: Bool, now: Instant) throws -> [Notice] {
        guard let e = engine else { return [] }
        if !force {
            let policy = checkpointPolicy
            guard e.isDirty, e.records >= policy.records || e.notices.count >= policy.notices
                    || ContinuousClock.now - e.lastCheckpoint >= policy.interval.duration else { return [] }
        }
        _ = finishWrite(e)
        guard e.isDirty else { return [] }
        checkpointWriter.submit(e.take(now: now), keepNotices: force) { [self] in try write($0) }
        guard force else { return [] }
        switch finishWrite(e) {
        case .written(_, let notices)?: return notices
        case .failed(_, let error)?: throw error
        case nil: return []
        }
    }

    /// Waits until the checkpoint being written, if any, is durable (or has failed: then
    /// it goes again with the next one). Starts none.
    public func waitForCheckpoint() {
        engineLock.withLock {
            if let e = engine { finishWrite(e) }
        }
    }

    /// Waits for the checkpoint in flight. Written: memory lets go of what it made
    /// durable. Failed: logged, and kept for the next checkpoint.
    @discardableResult
    func finishWrite(_ e: Engine) -> CheckpointWriter.Ending? {
        let outcome = checkpointWriter.join()
        switch outcome {
        case .written(let rows, _)?:
            e.state.committed(rows)
        case .failed(let cp, let error)?:
            logger.error("store_error", metadata: ["action": "checkpoint failed; what it held stays in memory and goes with the next one",
                                                   "error": "\(error)"])
            if let later = e.failed {
                var merged = cp
                merged.append(later)
                e.failed = merged
            } else {
                e.failed = cp
            }
        case nil:
            break
        }
        return outcome
    }

    /// Writes one checkpoint (on the writer's thread) and tells `onCheckpoint`.
    func write(_ cp: Checkpoint) throws -> [Notice] {
        var notices = cp.notices
        let started = ContinuousClock.now
        var rendering = Duration.zero
        var rowsWritten = started, queued = started
        func cpu() -> Int64 { var t = timespec(); clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); return Int64(t.tv_sec) * 1000 + Int64(t.tv_nsec) / 1_000_000 }
        let cpu0 = cpu()
        var logged: [Logger.Metadata] = []
        try writer.write { db in
            logged.removeAll()  // a transaction GRDB runs again starts its lines afresh
            // Before the rows change: a notice's customer is the one its line had when decided.
            notices = try withCustomers(notices, db)
            try save(cp.rows, db)
            rowsWritten = .now
            rendering = try enqueue(notices, now: cp.now, db, logged: &logged)
            for (cursor, at) in cp.cursors.values { try saveCursor(cursor, at: at, db) }
            // Written before the commit: a crash in between repeats a reject, never loses one.
            try rejects.append(cp.rejects, at: cp.now)
            queued = .now
        }
        let committed = ContinuousClock.now
        for m in logged { logger.info("notice", metadata: m) }
        logger.debug("checkpoint", metadata: ["records": "\(cp.records)", "messages": "\(notices.count)",
                                              "positions": "\(cp.rows.positions.count)", "lines": "\(cp.rows.lines.count)",
                                              "purchase_orders": "\(cp.rows.restocks.count)",
                                              "ms": "\((committed - started).milliseconds)",
                                              "rows_ms": "\((rowsWritten - started).milliseconds)",
                                              "queue_ms": "\((queued - rowsWritten).milliseconds)",
                                              "render_us": "\(rendering.microseconds)",
                                              "commit_ms": "\((committed - queued).milliseconds)", "cpu_ms": "\(cpu() - cpu0)"])
        onCheckpoint?(notices, cp.decided)
        return notices
    }

    /// Fills in the customer of each customer notice made while its line's customer was
    /// not in memory, from the line's row — as written by the last checkpoint, so call it
    /// before this one writes the rows. A row that is missing (never, short of a damaged
    /// file) leaves the customer empty and is logged.
    /// Only messages an endpoint subscribes to are filled in: the others are counted,
    /// never rendered.
    func withCustomers(_ notices: [Notice], _ db: Database) throws -> [Notice] {
        let subscribed = rules.subscribedTypes
        func needsCustomer(_ n: Notice) -> Bool {
            guard case .customer(let c) = n.content else { return false }
            return c.customer == nil && subscribed.contains(n.type)
        }
        guard notices.contains(where: needsCustomer) else { return notices }
        let st = try db.cachedStatement(sql: """
            SELECT customer_id, customer_name, customer_email, customer_phone, customer_locale, customer_timezone
            FROM order_line WHERE order_id = ? AND line = ?
            """)
        var out = notices
        for i in out.indices {
            guard needsCustomer(out[i]), case .customer(var c) = out[i].content, let first = c.lines.first else { continue }
            var s = RawStatement(st)
            s.bind(c.order)
            s.bind(first.line)
            if try s.step() {
                c.customer = Customer(id: s.text(0), name: s.optionalText(1), email: s.optionalText(2), phone: s.optionalText(3),
                                      locale: s.text(4), timezone: s.optionalText(5))
                out[i].content = .customer(c)
            } else {
                logger.error("customer_missing", metadata: ["order": "\(c.order)", "line": "\(first.line)",
                                                          "detail": "the line's row is not in the state file; the message goes without its customer"])
            }
            s.reset()
        }
        return out
    }

    /// Loads the decision state into memory now (the daemon does this at start, before
    /// it reads any file, so that READY covers it). Returns how many positions, open
    /// lines and open purchase orders it holds.
    @discardableResult
    public func loadState() throws -> (positions: Int, lines: Int, restocks: Int) {
        try engineLock.withLock {
            let e = try loadedEngine()
            return e.state.counts
        }
    }

    /// The engine, loaded from the last checkpoint on first use: every position, every
    /// open line and every open purchase order. Call holding `engineLock`.
    func loadedEngine() throws -> Engine {
        if let e = engine { return e }
        let e = Engine()
        e.state = try readState()
        engine = e
        return e
    }

    /// The decision state as the last checkpoint holds it: every position, every open
    /// line and every open purchase order.
    func readState() throws -> WorkingSet {
        let calendar = decider.policy.calendar
        var state = WorkingSet(calendar: calendar)
        try writer.read { db in
            if let sizes = try Row.fetchOne(db, sql: """
                SELECT COUNT(*), COALESCE(SUM(open_restocks), 0), COALESCE(SUM(waiting_lines), 0) FROM position
                """) {
                state.reserve(positions: sizes[0], lines: sizes[2], restocks: sizes[1])
            }
            let s = RawStatement(try db.cachedStatement(sql: """
                SELECT sku, location, on_hand, reserved, updated_at, alert_armed, alerts_fired, alert_count, waiting_lines,
                    open_restocks FROM position
                """))
            while try s.step() {
                var p = Position(key: PositionKey(sku: s.text(0), location: s.text(1)), onHand: s.int(2), reserved: s.int(3),
                                 updatedAt: Instant(milliseconds: s.int(4)))
                p.alertArmed = s.int(5) != 0
                p.alertsFired = AlertSet(rawValue: s.int(6))
                p.alertCount = s.int(7)
                p.waitingLines = s.int(8)
                p.openRestocks = s.int(9)
                state.load(p)
            }
            let l = RawStatement(try db.cachedStatement(sql: """
                SELECT \(Self.lineColumnsWithoutCustomer) FROM order_line WHERE status IN ('waiting', 'ready')
                """))
            // Deadlines are worked out again, not trusted from the file: one written by an
            // earlier release (or under another policy.timezone) may be early or late.
            let decider = self.decider
            while try l.step() {
                var line = Self.readLine(l, calendar: calendar)
                if line.status == .waiting { line.deadline = decider.deadline(of: line) }
                state.load(line)
            }
            let r = RawStatement(try db.cachedStatement(sql: "SELECT \(Self.restockColumns) FROM restock WHERE status = 'open'"))
            while try r.step() { state.load(Self.readRestock(r)) }
        }
        return state
    }

    /// A backorder record for a line that is not in memory may be a late copy of one
    /// closed long ago (closed lines are not kept in memory): those are read from the
    /// state file, one read for the batch, so the decision sees them closed.
    private func loadClosedLines(named batch: IngestBatch, into e: Engine) throws {
        var unknown: [LineKey] = []
        for r in batch.records {
            if case .backorder(let b) = r.record {
                let key = LineKey(order: b.order, line: b.line)
                if e.state.line(key) == nil { unknown.append(key) }
            }
        }
        guard !unknown.isEmpty else { return }
        try writer.read { db in
            let st = try db.cachedStatement(sql: "SELECT \(Self.lineColumnsWithoutCustomer) FROM order_line WHERE order_id = ? AND line = ?")
            for key in unknown {
                var s = RawStatement(st)
                s.bind(key.order)
                s.bind(key.line)
                if try s.step() {
                    let line = Self.readLine(s, calendar: e.state.calendar)
                    e.state.load(line)
                    if !line.status.isOpen { e.state.markForEviction(key) }
                }
                s.reset()
            }
        }
    }
}
