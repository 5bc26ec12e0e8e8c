import Foundation

/// A fresh directory under the system temp folder, removed when the value goes away.
public final class TempDirectory: @unchecked Sendable {
    public let path: String

    public init(_ label: String = "backorderd") {
        var template = Array((NSTemporaryDirectory() + "/\(label)-XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        path = made.map { String(cString: $0) } ?? NSTemporaryDirectory() + "/\(label)-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    public func sub(_ name: String) -> String {
        let p = path + "/" + name
        try? FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true)
        return p
    }

    public func file(_ name: String) -> String { path + "/" + name }
}

/// Writes, appends to and renames files the way producers do.
public enum Files {
    public static func write(_ path: String, _ text: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    public static func write(_ path: String, bytes: [UInt8]) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    public static func append(_ path: String, _ text: String) throws {
        try append(path, bytes: Array(text.utf8))
    }

    public static func append(_ path: String, bytes: [UInt8]) throws {
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0o644)
        guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        defer { close(fd) }
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, $0.count - done) }
            guard n > 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
            done += n
        }
    }

    /// Writes under a temporary name, then renames into place: the drop-by-rename producer.
    public static func drop(_ path: String, _ text: String) throws {
        try write(path + ".tmp", text)
        guard rename(path + ".tmp", path) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    }

    public static func read(_ path: String) -> String {
        (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    }
}

/// Waits for a condition without sleeping longer than needed: checks every few
/// milliseconds and fails after `timeout`.
/// How much longer `eventually` waits: `BACKORDERD_TEST_TIMEOUT_SCALE` (default 1), for
/// builds that run many times slower (ThreadSanitizer; docs/development.md).
public let testTimeoutScale: Int = {
    let v = ProcessInfo.processInfo.environment["BACKORDERD_TEST_TIMEOUT_SCALE"].flatMap { Int($0) } ?? 1
    return max(1, min(v, 100))
}()

public func eventually(timeout: Duration = .seconds(10), _ what: String = "condition",
                       _ condition: () throws -> Bool) async throws {
    let clock = ContinuousClock()
    let timeout = timeout * testTimeoutScale
    let deadline = clock.now + timeout
    while clock.now < deadline {
        if try condition() { return }
        try await Task.sleep(for: .milliseconds(5))
    }
    if try condition() { return }
    throw TimedOut(what: what, timeout: timeout)
}

public struct TimedOut: Error, CustomStringConvertible {
    public var what: String
    public var timeout: Duration
    public var description: String { "timed out after \(timeout) waiting for \(what)" }
}

/// Collects log lines for assertions.
public final class LogLines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []

    public init() {}

    public func append(_ line: String) { lock.withLock { lines.append(line) } }
    public var all: [String] { lock.withLock { lines } }
    public func contains(_ s: String) -> Bool { all.contains { $0.contains(s) } }
}
