import BackorderCore

extension Engine {
    /// What a configuration reload may change while the daemon runs: the decision
    /// policy, how events become notices, the templates, and who takes which messages.
    public struct Rules: Sendable {
        public var decider: Decider
        public var grouper: Grouper
        public var renderer: any NoticeRenderer
        public var subscriptions: [Subscription] {
            didSet { subscribedTypes = Self.types(subscriptions) }
        }
        /// The message types some endpoint takes.
        public private(set) var subscribedTypes: Set<EventType>

        public init(decider: Decider, grouper: Grouper, renderer: any NoticeRenderer, subscriptions: [Subscription]) {
            self.decider = decider
            self.grouper = grouper
            self.renderer = renderer
            self.subscriptions = subscriptions
            self.subscribedTypes = Self.types(subscriptions)
        }

        private static func types(_ subscriptions: [Subscription]) -> Set<EventType> {
            Set(subscriptions.flatMap { $0.events.compactMap(EventType.init(rawValue:)) })
        }

        /// The endpoints that take messages of `type`, in configuration order.
        public func endpoints(for type: EventType) -> [String] {
            subscriptions.compactMap { $0.events.contains(type.rawValue) ? $0.endpoint : nil }
        }

        /// The one path from decided events to messages: grouped into notices, each
        /// counted by type in `decided` (for the metrics), those an endpoint takes returned.
        func notices(from events: [Event], in ws: WorkingSet, counting decided: inout [String: Int]) -> [Notice] {
            guard !events.isEmpty else { return [] }
            let subscribed = subscribedTypes
            var out: [Notice] = []
            for notice in grouper.group(events, in: ws) {
                decided[notice.type.rawValue, default: 0] += 1
                if subscribed.contains(notice.type) { out.append(notice) }
            }
            return out
        }
    }
}
