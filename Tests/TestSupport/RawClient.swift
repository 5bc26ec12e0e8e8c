import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs blocking work on a thread of its own and awaits it, so a test that waits on a
/// socket never holds one of the cooperative pool's threads (two on this machine).
public func offPool<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { c in
        Thread.detachNewThread { c.resume(returning: body()) }
    }
}

/// Raises this process's soft limit on open files toward its hard limit (at most
/// `wanted`) and returns the soft limit now in force. A normal user's default soft
/// limit is 1,024: a test that opens a flood of sockets would otherwise take the
/// descriptors every other test running beside it needs.
@discardableResult
public func raiseOpenFileLimit(to wanted: Int = 65_536) -> Int {
    var rl = rlimit()
    guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &rl) == 0 else { return 1024 }
    let target = min(rlim_t(wanted), rl.rlim_max)
    if rl.rlim_cur < target {
        rl.rlim_cur = target
        _ = setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &rl)
        _ = getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &rl)
    }
    return Int(rl.rlim_cur)
}

/// A raw TCP client on 127.0.0.1 for what no HTTP library sends: an oversized head, a
/// head sent halfway and left, HEAD and GET pipelined on one connection.
public struct RawClient: Sendable {
    public let fd: Int32

    /// Connects, blocking up to `timeout` seconds for each later send and read; nil when refused.
    public static func connect(_ port: UInt16, timeout: Int = 5) -> RawClient? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var tv = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard r == 0 else { Glibc.close(fd); return nil }
        return RawClient(fd: fd)
    }

    /// Starts a connection without waiting for it (for floods); nil when no socket is left.
    public static func connectLater(_ port: UInt16) -> RawClient? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { return nil }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return RawClient(fd: fd)
    }

    /// Sends all of `text`; false once the peer has closed or reset the connection.
    @discardableResult
    public func send(_ text: String) -> Bool { send(Array(text.utf8)) }

    @discardableResult
    public func send(_ bytes: [UInt8]) -> Bool {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + done, $0.count - done, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            done += n
        }
        return true
    }

    /// What the server sends until it closes (or the read times out, or resets).
    public func readAll() -> String {
        var out = [UInt8]()
        var buf = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            out += buf[0..<n]
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// What has arrived so far, without waiting.
    public func readNow() -> String {
        var buf = [UInt8](repeating: 0, count: 4096)
        let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
        return n > 0 ? String(decoding: buf[0..<n], as: UTF8.self) : ""
    }

    /// Where a connection stands, without waiting.
    public enum State: Equatable, Sendable {
        /// The server sent this much (the start of its answer).
        case answered(String)
        case closed, reset, waiting, notConnected
    }

    public func state() -> State {
        var buf = [UInt8](repeating: 0, count: 512)
        let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
        if n > 0 { return .answered(String(decoding: buf[0..<n], as: UTF8.self)) }
        if n == 0 { return .closed }
        switch errno {
        case EAGAIN: return .waiting
        case ECONNRESET: return .reset
        default: return .notConnected
        }
    }

    public func close() { Glibc.close(fd) }
}

/// Failed checks gathered off the cooperative pool (where a test's `#expect` cannot
/// report), recorded by the test once back on it.
public final class Problems: @unchecked Sendable {
    public var list: [String] = []
    public init() {}

    /// Runs `body` off the cooperative pool (its calls wait on a server: parked on the
    /// pool's two threads they would starve every loopback receiver of the other tests)
    /// and returns the failed checks, an error it threw among them; each is printed too.
    public static func gather(_ body: @escaping @Sendable (Problems) throws -> Void) async -> [String] {
        let found = await offPool { () -> [String] in
            let p = Problems()
            do { try body(p) } catch { p.list.append("\(error)") }
            return p.list
        }
        for problem in found { print("check failed:", problem) }
        return found
    }

    /// Notes `what` (with the place) unless `ok`.
    public func check(_ ok: @autoclosure () throws -> Bool, _ what: @autoclosure () -> String = "",
                      file: String = #fileID, line: Int = #line) rethrows {
        if try !ok() { list.append("\(file):\(line): \(what())") }
    }
}
