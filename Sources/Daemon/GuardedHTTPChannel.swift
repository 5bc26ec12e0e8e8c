import HummingbirdCore
import Logging
import NIOCore

/// Hummingbird's HTTP/1.1 child channel with the daemon's limits (`HTTPLimits`): the
/// connection cap in front of the parser, header limits in the parser, and the
/// exchange deadlines behind it.
struct GuardedHTTPChannel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value

    let inner: HTTP1Channel
    let budget: ConnectionBudget

    init(budget: ConnectionBudget, responder: @escaping HTTPChannelHandler.Responder) {
        self.budget = budget
        let decoder = HTTP1Channel.Configuration.DecoderConfiguration(
            maxHeaderFieldSize: HTTPLimits.headerBytes, maxHeaderListSize: HTTPLimits.headerBytes,
            maxHeaderFieldCount: HTTPLimits.headerFields)
        inner = HTTP1Channel(responder: responder,
                             configuration: .init(additionalChannelHandlers: [ExchangeDeadlineHandler()], idleTimeout: nil,
                                                  httpDecoderConfiguration: decoder))
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let budget = self.budget
        return channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(ConnectionCapHandler(budget: budget))
        }.flatMap { inner.setup(channel: channel, logger: logger) }
    }

    func handle(value: Value, logger: Logger) async {
        await inner.handle(value: value, logger: logger)
    }
}
