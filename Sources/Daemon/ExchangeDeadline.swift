import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import HTTPTypes

/// Closes a connection that is slow to ask or to be answered, and answers a request
/// whose head is too large with `431` (the decoder stops reading at
/// `HTTPLimits.headerBytes`, so it costs microseconds, not a megabyte's parsing).
///
/// A request head must be complete within `headWithin` of the connection opening or of
/// the previous answer's end (slow-header clients and idle kept-alive connections), and
/// its answer must end within `answerWithin`.
final class ExchangeDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let headWithin: TimeAmount
    private let answerWithin: TimeAmount
    private var timer: Scheduled<Void>?
    /// Request heads read whose answer has not ended (pipelined requests wait in turn).
    private var unanswered = 0
    /// A head too large arrived behind requests still being answered: 431 after them.
    private var overflowed = false
    private var closing = false

    init(headWithin: TimeAmount = HTTPLimits.headWithin, answerWithin: TimeAmount = HTTPLimits.answerWithin) {
        self.headWithin = headWithin
        self.answerWithin = answerWithin
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(headWithin, context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(headWithin, context: context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) {
            unanswered += 1
            arm(answerWithin, context: context)
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let ends = if case .end = unwrapOutboundIn(data) { true } else { false }
        context.write(data, promise: promise)
        guard ends else { return }
        unanswered = max(0, unanswered - 1)
        if unanswered > 0 {
            arm(answerWithin, context: context)  // the next pipelined request's answer
        } else if overflowed {
            refuseOversizedHead(context: context)
        } else {
            arm(headWithin, context: context)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parse = error as? HTTPParserError, parse == .headerOverflow else {
            context.fireErrorCaught(error)
            return
        }
        // Answered in order: behind the requests read before it.
        if unanswered > 0 { overflowed = true } else { refuseOversizedHead(context: context) }
    }

    private func refuseOversizedHead(context: ChannelHandlerContext) {
        guard !closing else { return }
        closing = true
        var fields = HTTPFields()
        fields[.contentType] = "text/plain; charset=utf-8"
        fields[.connection] = "close"
        let text = "431: the request line and headers must fit in \(HTTPLimits.headerBytes / 1024) KiB\n"
        fields[.contentLength] = String(text.utf8.count)
        context.write(wrapOutboundOut(.head(HTTPResponse(status: .init(code: 431), headerFields: fields))), promise: nil)
        context.write(wrapOutboundOut(.body(context.channel.allocator.buffer(string: text))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancel()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) { cancel() }

    private func arm(_ within: TimeAmount, context: ChannelHandlerContext) {
        cancel()
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: within) {
            context.close(promise: nil)
        }
    }

    private func cancel() {
        timer?.cancel()
        timer = nil
    }
}
