import BackorderCore
import Foundation
import Inbox
import Logging
import ServiceLifecycle

/// The inbox as a lifecycle `Service`: it runs the inbox on a thread of its own and
/// stops it on graceful shutdown, after the batch being applied has committed.
public final class IngestService: Service, @unchecked Sendable {
    public let inbox: Inbox
    private let logger: Logger
    private let caughtUp: @Sendable () -> Void

    public init(inbox: Inbox, logger: Logger, caughtUp: @escaping @Sendable () -> Void = {}) {
        self.inbox = inbox
        self.logger = logger
        self.caughtUp = caughtUp
    }

    public func run() async throws {
        let inbox = self.inbox
        let caughtUp = self.caughtUp
        try await withGracefulShutdownHandler {
            try await withCheckedThrowingContinuation { (done: CheckedContinuation<Void, any Error>) in
                let thread = Thread {
                    do {
                        try inbox.run(caughtUp: caughtUp)
                        done.resume()
                    } catch {
                        done.resume(throwing: error)
                    }
                }
                thread.name = "backorderd-inbox"
                thread.start()
            }
        } onGracefulShutdown: {
            inbox.stop()
        }
    }
}
