import Foundation

/// The sd_notify protocol by hand: one datagram per message to `$NOTIFY_SOCKET`
/// (a path, or an abstract socket written `@name`). No listed library speaks it, and it
/// is a dozen lines. Without `$NOTIFY_SOCKET` (not under systemd) every call does nothing.
public final class SystemdNotifier: @unchecked Sendable {
    private let address: String?
    private let fd: Int32

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        address = environment["NOTIFY_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
        fd = address == nil ? -1 : socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    }

    deinit { if fd >= 0 { close(fd) } }

    public var isEnabled: Bool { fd >= 0 }

    /// Sends `READY=1`, `STATUS=…`, `WATCHDOG=1`, `STOPPING=1`, `RELOADING=1`, … (newline-separated).
    @discardableResult
    public func notify(_ message: String) -> Bool {
        guard fd >= 0, let address else { return false }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        var path = Array(address.utf8)
        if path.first == UInt8(ascii: "@") { path[0] = 0 }  // abstract namespace
        let capacity = MemoryLayout.size(ofValue: addr.sun_path)
        guard path.count < capacity else { return false }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in path.enumerated() { raw[i] = b }
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + path.count + (path.first == 0 ? 0 : 1))
        let bytes = Array(message.utf8)
        let sent = withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                bytes.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, 0, sa, length) }
            }
        }
        return sent == bytes.count
    }

    /// Half of `$WATCHDOG_USEC`, if systemd asked for keep-alives.
    public static func watchdogInterval(environment: [String: String] = ProcessInfo.processInfo.environment) -> Duration? {
        guard let usec = environment["WATCHDOG_USEC"].flatMap(Int64.init), usec > 0 else { return nil }
        if let pid = environment["WATCHDOG_PID"].flatMap(Int32.init), pid != getpid() { return nil }
        return .microseconds(usec / 2)
    }
}
