import BackorderCore

extension Engine {
    /// How long the engine decides one batch before it leaves the rest for the next read.
    /// A batch is bounded in lines and bytes, but not every line costs the same (a line
    /// put in the middle of a long list behind a purchase order walks the lines after
    /// it): the inbox beats its heartbeat between batches, so no batch may starve the
    /// systemd watchdog, whatever its shape.
    public static let decideBudget = Duration.seconds(2)

    /// Decides a batch in memory; its rows, messages, rejects and cursor are written by
    /// the next checkpoint. Returns the cursor reached and the lines refused.
    public func decide(_ batch: IngestBatch) throws -> IngestResult {
        try lock.withLock {
            let m = try loaded()
            try loadClosedLines(named: batch, into: m)
            let rules = self.rules  // once per batch: a reload applies between batches
            var events: [Event] = []
            // Cut only a batch whose records each know where they end in the file.
            let cuttable = batch.records.allSatisfy { $0.endOffset >= 0 }
            let (applied0, refused0, decided) = Self.decide(batch, with: rules.decider, on: &m.state, events: &events,
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
            m.notices += rules.notices(from: events, in: m.state, counting: &m.decided)
            var all = batch.rejects
            if !refused.isEmpty {
                all += refused
                all.sort { $0.line < $1.line }
            }
            m.rejects += all
            m.cursors[batch.cursor.id] = (batch.cursor, batch.readAt)
            m.records += batch.records.count
            return IngestResult(cursor: batch.cursor, applied: applied, rejects: all)
        }
    }

    /// Decides a batch and writes a checkpoint when the policy says one is due (or at
    /// once with `force`). Once the batch is decided it is never decided again: a
    /// checkpoint that fails is logged, what it held stays in memory, and the next one
    /// writes it — so the inbox must read on, not repeat the batch.
    public func ingest(_ batch: IngestBatch, force: Bool = false) throws -> IngestResult {
        let result = try decide(batch)
        // A failed write is logged where it is found (`finishWrite`) and goes again with the next.
        _ = try? lock.withLock { try checkpoint(force: force, now: batch.readAt) }
        return result
    }

    /// Decides one batch and writes it at once, with everything decided before it, in
    /// one checkpoint: rows, messages, cursors and rejects. Returns the messages written
    /// and what was decided of the batch.
    @discardableResult
    public func applyBatch(_ batch: IngestBatch) throws -> (notices: [Notice], result: IngestResult) {
        let result = try decide(batch)
        let notices = try lock.withLock { try checkpoint(force: true, now: batch.readAt) }
        return (notices, result)
    }

    /// The clock's pass: overdue estimates and long waits due at `now`, decided in memory
    /// and written at once with whatever else was decided. Returns the pass's messages.
    @discardableResult
    public func tick(now: Instant) throws -> [Notice] {
        try lock.withLock {
            let m = try loaded()
            let rules = self.rules
            var events: [Event] = []
            rules.decider.tick(now: now, to: &m.state, events: &events)
            let notices = rules.notices(from: events, in: m.state, counting: &m.decided)
            m.notices += notices
            _ = try checkpoint(force: true, now: now)
            return notices
        }
    }

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

    /// A backorder record for a line that is not in memory may be a late copy of one
    /// closed long ago (closed lines are not kept in memory): those are read from the
    /// store, one read for the batch, so the decision sees them closed.
    private func loadClosedLines(named batch: IngestBatch, into m: EngineState) throws {
        var unknown: [LineKey] = []
        for r in batch.records {
            if case .backorder(let b) = r.record {
                let key = LineKey(order: b.order, line: b.line)
                if m.state.line(key) == nil { unknown.append(key) }
            }
        }
        guard !unknown.isEmpty else { return }
        for line in try store.readLines(unknown, calendar: m.state.calendar) {
            m.state.load(line)
            if !line.status.isOpen { m.state.markForEviction(line.key) }
        }
    }
}
