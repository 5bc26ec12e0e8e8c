import BackorderCore
import NIOCore

/// How many connections a listener holds open, against `HTTPLimits.connections`.
final class ConnectionBudget: @unchecked Sendable {
    private let lock = Lock()
    private var open = 0
    private var refusedCount = 0
    let limit: Int

    init(limit: Int) { self.limit = limit }

    /// Takes a place if one is free.
    func take() -> Bool {
        lock.withLock {
            guard open < limit else { refusedCount += 1; return false }
            open += 1
            return true
        }
    }

    func give() { lock.withLock { open -= 1 } }

    var inUse: Int { lock.withLock { open } }
    /// Connections turned away since the start.
    var refused: Int { lock.withLock { refusedCount } }
}

/// First in each connection's pipeline, before any HTTP parsing: a connection past the
/// budget is answered `503` in raw bytes and closed, and nothing it sends is read.
final class ConnectionCapHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    static let refusal = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 45\r\n"
        + "Retry-After: 5\r\nConnection: close\r\n\r\n503: too many connections; try again shortly\n"

    private let budget: ConnectionBudget
    private var holds = false
    private var refused = false
    private var decided = false

    init(budget: ConnectionBudget) { self.budget = budget }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { decide(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        decide(context: context)
        if !refused { context.fireChannelActive() }
    }

    private func decide(context: ChannelHandlerContext) {
        guard !decided else { return }
        decided = true
        if budget.take() {
            holds = true
            return
        }
        refused = true
        let bytes = context.channel.allocator.buffer(string: Self.refusal)
        // Closed at once, even if the request's bytes still arriving turn the close into
        // a reset and the client never reads the 503: under a flood, a refused
        // connection must not hold a file descriptor the inbox and deliveries need (a
        // 250 ms linger held 225 of 256 beside a CPU hog).
        context.writeAndFlush(wrapInboundOut(bytes)).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if !refused { context.fireChannelRead(data) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if holds {
            holds = false
            budget.give()
        }
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        if holds {
            holds = false
            budget.give()
        }
    }
}
