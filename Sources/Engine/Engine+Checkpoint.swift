#if canImport(Glibc)
import Glibc
#endif
import BackorderCore
import Logging

extension Engine {
    /// Writes whatever was decided: the inbox caught up, or the daemon stops.
    @discardableResult
    public func flush(now: Instant? = nil) throws -> [Notice] {
        try lock.withLock {
            guard memory != nil else { return [] }
            return try checkpoint(force: true, now: now ?? clock())
        }
    }

    /// Waits until the checkpoint being written, if any, is durable (or has failed: then
    /// it goes again with the next one). Starts none.
    public func waitForCheckpoint() {
        lock.withLock {
            if let m = memory { finishWrite(m) }
        }
    }

    /// Starts a checkpoint when the policy says one is due (or at once with `force`):
    /// everything decided since the last one — changed rows, messages (rendered and
    /// queued), each file's cursor, the refused lines — in one transaction, so the store
    /// always holds a state that matches its cursors. The write runs on the
    /// `CheckpointWriter`'s thread while decisions go on; the one before it is finished
    /// first. With `force`, waits for it and returns the messages written (and throws if
    /// it failed: what it held goes again with the next). Call holding `lock`.
    func checkpoint(force: Bool, now: Instant) throws -> [Notice] {
        guard let m = memory else { return [] }
        if !force {
            let policy = checkpointPolicy
            guard m.isDirty, m.records >= policy.records || m.notices.count >= policy.notices
                    || ContinuousClock.now - m.lastCheckpoint >= policy.interval.duration else { return [] }
        }
        _ = finishWrite(m)
        guard m.isDirty else { return [] }
        checkpointWriter.submit(m.take(now: now), keepNotices: force) { [self] in try write($0) }
        guard force else { return [] }
        switch finishWrite(m) {
        case .written(_, let notices)?: return notices
        case .failed(_, let error)?: throw error
        case nil: return []
        }
    }

    /// Waits for the checkpoint in flight. Written: memory lets go of what it made
    /// durable. Failed: logged, and kept for the next checkpoint.
    @discardableResult
    func finishWrite(_ m: EngineState) -> CheckpointWriter.Ending? {
        let outcome = checkpointWriter.join()
        switch outcome {
        case .written(let rows, _)?:
            m.state.committed(rows)
        case .failed(let cp, let error)?:
            logger.error("store_error", metadata: ["action": "checkpoint failed; what it held stays in memory and goes with the next one",
                                                   "error": "\(error)"])
            if let later = m.failed {
                var merged = cp
                merged.append(later)
                m.failed = merged
            } else {
                m.failed = cp
            }
        case nil:
            break
        }
        return outcome
    }

    /// Writes one checkpoint (on the writer's thread): the customers the notices lack
    /// read back, the messages rendered, all of it handed to the store in one write;
    /// then the `notice` lines logged and `onCheckpoint` told.
    func write(_ cp: Checkpoint) throws -> [Notice] {
        let started = ContinuousClock.now
        func cpu() -> Int64 { var t = timespec(); clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); return Int64(t.tv_sec) * 1000 + Int64(t.tv_nsec) / 1_000_000 }
        let cpu0 = cpu()
        let rules = self.rules  // once per checkpoint, not per notice
        // Before this checkpoint's rows are written: a notice's customer is the one its
        // line had when decided, as the checkpoints before this one stored it.
        let notices = try withCustomers(cp.notices, rules: rules)
        let customersRead = ContinuousClock.now
        var rendering = Duration.zero
        let messages = queued(notices, rules: rules, rendering: &rendering)
        let made = ContinuousClock.now - customersRead
        let timing = try store.write(StoredCheckpoint(rows: cp.rows, messages: messages, cursors: Array(cp.cursors.values),
                                                      rejects: cp.rejects, now: cp.now))
        let committed = ContinuousClock.now
        // Told once committed: a checkpoint that fails goes again with the next, and its
        // notices must not be told twice.
        for m in messages {
            logger.info("notice", metadata: ["order": "\(m.orderKey)", "type": "\(m.type)", "webhook_id": "\(m.webhookID)",
                                             "lines": "\(m.lineKeys.joined(separator: ","))",
                                             "endpoints": "\(m.endpoints.joined(separator: ","))"])
        }
        logger.debug("checkpoint", metadata: ["records": "\(cp.records)", "messages": "\(notices.count)",
                                              "positions": "\(cp.rows.positions.count)", "lines": "\(cp.rows.lines.count)",
                                              "purchase_orders": "\(cp.rows.restocks.count)",
                                              "ms": "\((committed - started).milliseconds)",
                                              "rows_ms": "\((customersRead - started + timing.rows).milliseconds)",
                                              "queue_ms": "\((made + timing.queue).milliseconds)",
                                              "render_us": "\(rendering.microseconds)",
                                              "commit_ms": "\(timing.commit.milliseconds)", "cpu_ms": "\(cpu() - cpu0)"])
        onCheckpoint?(notices, cp.decided)
        return notices
    }

    /// Fills in the customer of each customer notice made while its line's customer was
    /// not in memory, from the store — as written by the checkpoints before this one. A
    /// line the store does not have (never, short of a damaged file) leaves the customer
    /// empty and is logged. Only messages an endpoint takes are filled in: the others are
    /// counted, never rendered.
    func withCustomers(_ notices: [Notice], rules: Rules) throws -> [Notice] {
        let subscribed = rules.subscribedTypes
        func wanted(_ n: Notice) -> LineKey? {
            guard case .customer(let c) = n.content, c.customer == nil, subscribed.contains(n.type), let first = c.lines.first
            else { return nil }
            return LineKey(order: c.order, line: first.line)
        }
        let keys = notices.compactMap(wanted)
        guard !keys.isEmpty else { return notices }
        let customers = try store.readCustomers(of: keys)
        var out = notices
        for i in out.indices {
            guard let key = wanted(out[i]), case .customer(var c) = out[i].content else { continue }
            if let customer = customers[key] {
                c.customer = customer
                out[i].content = .customer(c)
            } else {
                logger.error("customer_missing", metadata: ["order": "\(key.order)", "line": "\(key.line)",
                                                          "detail": "the line's row is not in the state file; the message goes without its customer"])
            }
        }
        return out
    }
}
