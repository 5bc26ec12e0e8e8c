import BackorderCore

extension Engine {
    /// What some change files would cause on top of the current state, decided by the
    /// same code as the daemon, on a copy of the state in memory: nothing is written and
    /// nothing is sent. `files` holds each file's batches, in the order the files arrive;
    /// with `tickAt`, the clock's pass runs at that time after each file, as the daemon's
    /// clock does after each batch, so a line overdue after one file and ready after the
    /// next is told both. Returns each message once (per webhook id), rendered as it would
    /// be queued, and the lines the decision pass refused.
    public func preview(_ files: [[IngestBatch]], tickAt: Instant?) throws
        -> (messages: [QueuedMessage], refused: [Reject]) {
        let rules = self.rules
        var ws = try readState(rules.decider)  // a copy of its own: the state in memory is not touched
        var notices: [Notice] = []
        var refused: [Reject] = []
        var decided: [String: Int] = [:]
        for file in files {
            for batch in file {
                var events: [Event] = []
                refused += Self.decide(batch, with: rules.decider, on: &ws, events: &events).refused
                notices += rules.notices(from: events, in: ws, counting: &decided)
            }
            guard let at = tickAt else { continue }
            // Deadlines that have passed by then: overdue estimates, long waits.
            var events: [Event] = []
            rules.decider.tick(now: at, to: &ws, events: &events)
            notices += rules.notices(from: events, in: ws, counting: &decided)
        }
        // Customers not in memory are read from the store, which replay never changes.
        notices = try withCustomers(notices, rules: rules)
        var out: [QueuedMessage] = []
        var seen = Set<String>()
        var rendering = Duration.zero  // not reported: replay prints no timings
        for notice in notices {
            guard seen.insert(Self.webhookID(notice)).inserted else { continue }
            out.append(message(notice, to: rules.endpoints(for: notice.type), rules: rules, rendering: &rendering))
        }
        return (out, refused)
    }
}
