import BackorderCore
import Engine
import Inbox

/// The whole configuration, validated. See `config/backorderd.toml` for every key.
public struct Config: Sendable {
    public var inbox: InboxSettings
    public var stateDirectory: String
    /// `[state] backend`: SQLite in `stateDirectory` (the default) or PostgreSQL.
    public var backend: StateBackend = .sqlite
    /// `[state]` checkpoint_records and checkpoint_interval.
    public var checkpoints = CheckpointPolicy()
    /// `[state]` retain_delivered: how long delivered and superseded messages are kept;
    /// nil keeps them forever.
    public var retainDelivered: Span? = Config.defaultRetainDelivered
    public static let defaultRetainDelivered: Span? = .days(30)
    public var policy: Policy
    public var cancelLink: String?
    /// A folder of Mustache templates overriding or adding to the built-in ones.
    public var templatesDirectory: String?
    public var delivery: DeliverySettings
    public var metricsListen: String?
    /// `[http]`: the status page and `/metrics`; nil when `http.listen` is absent.
    public var http: HTTPSettings?
    public var endpoints: [Endpoint]
    /// Things that work but deserve an operator's attention (a secret others can read).
    public var warnings: [String] = []
    /// Where the configuration was read from.
    public var path: String
}

extension Config {
    /// How many deliveries may be under way to `endpoint`: its `max_in_flight`, or else
    /// its fair share of `delivery.concurrency` (`DispatchPlan.fairShare`).
    public func inFlightLimit(_ endpoint: Endpoint) -> Int {
        if let set = endpoint.maxInFlight { return set }
        let explicit = endpoints.compactMap(\.maxInFlight)
        return DispatchPlan.fairShare(concurrency: delivery.concurrency, explicit: explicit,
                                      shared: endpoints.count - explicit.count)
    }
}

/// `[policy]`: how lines are allocated and when customers and staff hear about them.
/// Defaults are the decision core's own (`DecisionPolicy()`), spelled there once.
public struct Policy: Sendable, Equatable {
    public typealias Allocation = DecisionPolicy.Allocation
    private static let core = DecisionPolicy()
    public var allocation: Allocation = core.allocation
    public var grace: Span = core.grace
    public var longWait: Span = core.longWait
    public var lowStockThreshold: Int64 = core.lowStockThreshold
    public var stockCounts: DecisionPolicy.StockCounts = core.stockCounts
    public var timezone: String = "UTC"

    /// The part of the policy the decision core needs.
    public var decision: DecisionPolicy {
        DecisionPolicy(allocation: allocation, grace: grace, longWait: longWait, lowStockThreshold: lowStockThreshold,
                       stockCounts: stockCounts, calendar: ZoneRules.calendar(timezone: timezone))
    }
}

/// `[delivery]`: retries, timeouts and concurrency of webhook delivery. These are the
/// defaults the configuration takes when a key is absent.
public struct DeliverySettings: Sendable, Equatable {
    public var initialBackoff: Span = .seconds(5)
    public var maxBackoff: Span = .hours(6)
    public var maxAttempts: Int = 12
    public var maxAge: Span = .hours(72)
    public var timeout: Span = .seconds(10)
    public var concurrency: Int = 32
    /// How long messages queued for an endpoint no longer configured wait for it to come
    /// back (a rename being finished) before they become dead letters.
    public var removedEndpointGrace: Span = .hours(24)
}

/// A webhook signing secret. Its description never shows the key.
public struct Secret: Sendable, Equatable, CustomStringConvertible {
    /// The whole `whsec_…` text.
    public let text: String
    /// The decoded key bytes.
    public let key: [UInt8]
    public var description: String { "whsec_[redacted]" }
}

/// One `[[endpoints]]` entry.
public struct Endpoint: Sendable, Equatable {
    /// Where an endpoint's signing secrets came from.
    public enum SecretSource: Sendable, Equatable {
        /// `secret = "whsec_…"`: in the configuration file itself.
        case inline
        /// `secret_file = "PATH"`.
        case file(String)
        /// `secret_credential = "NAME"`: `$CREDENTIALS_DIRECTORY/NAME`, from systemd.
        case credential(String)
    }

    public var name: String
    public var url: String
    public var secrets: [Secret]
    public var secretSource: SecretSource = .inline
    public var events: [String]
    public var quietHours: QuietHours?
    public var allowInsecure: Bool
    /// `max_in_flight` as written; nil for the endpoint's fair share of
    /// `delivery.concurrency` (`Config.inFlightLimit`).
    public var maxInFlight: Int?
}

import Foundation
