import BackorderCore
import CCurl
import Foundation

/// One HTTP POST for `CurlClient`.
public struct HTTPPost: Sendable {
    public var url: String
    public var headers: [String]
    public var body: [UInt8]
    public var timeout: Duration
    /// When set, makes the headers (instead of `headers`) on the curl thread as the
    /// request starts: a signature over the time it leaves, however long it waited.
    public var headersAtStart: (@Sendable () -> [String])?

    public init(url: String, headers: [String], body: [UInt8], timeout: Duration,
                headersAtStart: (@Sendable () -> [String])? = nil) {
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
        self.headersAtStart = headersAtStart
    }
}

/// What came back: a status (0 when none), curl's result code, and a `Retry-After`.
public struct HTTPResult: Sendable, Equatable {
    public var status: Int
    /// `CURLE_OK` (0), or why the transfer failed.
    public var curlCode: Int
    public var curlError: String
    /// Seconds from `Retry-After` (delta-seconds or HTTP date, parsed by libcurl), if any.
    public var retryAfter: Int?
    /// At most 64 KiB of the response body.
    public var body: [UInt8]
    public var elapsed: Duration

    /// Why a request handed to `CurlClient.send` was never started.
    public static let notSentCode = -1

    /// Handed back unsent by `CurlClient.withdraw` or at shutdown: no request was made.
    static func notSent(_ why: String) -> HTTPResult {
        HTTPResult(status: 0, curlCode: notSentCode, curlError: why, retryAfter: nil, body: [], elapsed: .zero)
    }

    /// True when no request was made (withdrawn or shut down before it started).
    public var wasNotSent: Bool { curlCode == Self.notSentCode }
}

/// libcurl's multi interface on a thread of its own.
///
/// Requests are handed over through a lock-protected queue and `curl_multi_wakeup`;
/// the thread runs `curl_multi_poll`, starts a waiting request as soon as its
/// `TransferLimit`s have room, and calls each request's completion when its transfer
/// ends. Easy handles are reused, so
/// connections stay alive between requests. No callback ever runs on the cooperative
/// thread pool.
public final class CurlClient: @unchecked Sendable {
    /// How much of a response body is read; the rest is refused.
    public static let maxResponseBytes = 64 * 1024

    private let multi: UnsafeMutableRawPointer
    private let mutex = Lock()
    /// Handed over and not started (guarded by `mutex`), in the order they came.
    private var waiting: [Transfer] = []
    private var stopping = false
    private var thread: pthread_t?
    private let userAgent: String
    private let connectTimeout: Duration

    // Curl-thread state.
    private var idle: [UnsafeMutableRawPointer] = []
    private var ended: [(Transfer, HTTPResult)] = []  // reused by each `drainFinished`
    private var running: [Int: Transfer] = [:]
    private var handleURL: [Int: String] = [:]

    public init(userAgent: String, connectTimeout: Duration = .seconds(5)) {
        Self.globalInit
        multi = curl_multi_init()!
        self.userAgent = userAgent
        self.connectTimeout = connectTimeout
        _ = bo_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, 256)
        let box = Unmanaged.passRetained(self)
        var t = pthread_t()
        pthread_create(&t, nil, { raw in
            let client = Unmanaged<CurlClient>.fromOpaque(raw!).takeRetainedValue()
            bo_name_thread("curl")  // shows in top -H and profiles
            client.loop()
            return nil
        }, box.toOpaque())
        thread = t
    }

    private static let globalInit: Void = {
        curl_global_init(Int(CURL_GLOBAL_DEFAULT))
    }()

    /// Stops the thread once the transfers under way have ended (each ends at its timeout at the latest).
    public func shutdown() {
        mutex.lock()
        stopping = true
        mutex.unlock()
        curl_multi_wakeup(multi)
        if let t = thread {
            pthread_join(t, nil)
            thread = nil
        }
    }

    deinit {
    }

    /// Hands requests to the curl thread; each starts once every one of `limits` has
    /// room (at once, with none). `done` is called once per request, with its index in
    /// `requests`, as each ends — on the curl thread, or on the thread that calls
    /// `withdraw`. Keep `done` short: it runs between transfers.
    public func send(_ requests: [HTTPPost], limits: [TransferLimit] = [], done: @escaping @Sendable (Int, HTTPResult) -> Void) {
        guard !requests.isEmpty else { return }
        mutex.lock()
        if stopping {
            mutex.unlock()
            for i in requests.indices { done(i, .notSent("shutting down")) }
            return
        }
        for (i, r) in requests.enumerated() { waiting.append(Transfer(request: r, index: i, limits: limits, done: done)) }
        mutex.unlock()
        curl_multi_wakeup(multi)
    }

    /// Sets how many transfers `limit` lets run at once; a raised cap takes effect at once.
    public func setMaximum(_ limit: TransferLimit, _ max: Int) {
        mutex.lock()
        let raised = max > limit.maximum
        limit.maximum = max
        mutex.unlock()
        if raised { curl_multi_wakeup(multi) }
    }

    /// Takes back the requests under `limit` that have not started: each one's `done`
    /// is called on this thread with a result whose `wasNotSent` is true. Returns how
    /// many. Requests already under way run to their end.
    @discardableResult
    public func withdraw(_ limit: TransferLimit) -> Int {
        mutex.lock()
        var taken: [Transfer] = []
        waiting.removeAll { t in
            guard t.limits.contains(where: { $0 === limit }) else { return false }
            taken.append(t)
            return true
        }
        mutex.unlock()
        for t in taken { t.done(t.index, .notSent("withdrawn before it was sent")) }
        return taken.count
    }

    /// Under `mutex`: removes from `waiting`, in order, each transfer all of whose limits
    /// have room, and counts it in them.
    private func takeStartable() -> [Transfer] {
        guard !waiting.isEmpty else { return [] }
        var start: [Transfer] = []
        waiting.removeAll { t in  // in place, keeping the order of the rest
            guard t.limits.allSatisfy({ $0.running < $0.maximum }) else { return false }
            for l in t.limits { l.running += 1 }
            start.append(t)
            return true
        }
        return start
    }

    // MARK: - The curl thread

    private func loop() {
        while true {
            mutex.lock()
            let incoming = takeStartable()
            let stop = stopping
            var unsent: [Transfer] = []
            if stop { swap(&unsent, &waiting) }
            mutex.unlock()
            for t in unsent { t.done(t.index, .notSent("shutting down")) }
            for t in incoming { start(t) }
            if stop && running.isEmpty { break }
            var still: Int32 = 0
            curl_multi_perform(multi, &still)
            drainFinished()
            var numfds: Int32 = 0
            curl_multi_poll(multi, nil, 0, 1000, &numfds)
        }
        for h in idle { curl_easy_cleanup(h) }
        idle.removeAll()
        curl_multi_cleanup(multi)
    }

    /// A new easy handle with the options every request shares; `start` sets the rest.
    private func makeHandle() -> UnsafeMutableRawPointer {
        let h = curl_easy_init()!
        _ = bo_easy_setopt_long(h, CURLOPT_NOSIGNAL, 1)
        _ = bo_easy_setopt_long(h, CURLOPT_POST, 1)
        _ = bo_easy_setopt_long(h, CURLOPT_FOLLOWLOCATION, 0)
        _ = bo_easy_setopt_str(h, CURLOPT_PROTOCOLS_STR, "http,https")
        _ = bo_easy_setopt_long(h, CURLOPT_SSL_VERIFYPEER, 1)
        _ = bo_easy_setopt_long(h, CURLOPT_SSL_VERIFYHOST, 2)
        _ = bo_easy_setopt_long(h, CURLOPT_TCP_KEEPALIVE, 1)
        _ = bo_easy_setopt_str(h, CURLOPT_USERAGENT, userAgent)
        _ = bo_easy_setopt_write(h) { ptr, size, count, user in
            let t = Unmanaged<Transfer>.fromOpaque(user!).takeUnretainedValue()
            let n = size * count
            let room = CurlClient.maxResponseBytes - t.body.count
            guard room > 0 else { return 0 }  // enough: refuse the rest (the status is already known)
            let take = min(room, n)
            ptr!.withMemoryRebound(to: UInt8.self, capacity: take) { t.body.append(contentsOf: UnsafeBufferPointer(start: $0, count: take)) }
            return take == n ? n : 0
        }
        return h
    }

    private func start(_ t: Transfer) {
        let h = idle.popLast() ?? makeHandle()
        t.started = ContinuousClock.now
        let key = Int(bitPattern: UnsafeRawPointer(h))
        if handleURL[key] != t.request.url {  // parsing a URL is not free; most handles post to one
            _ = bo_easy_setopt_str(h, CURLOPT_URL, t.request.url)
            handleURL[key] = t.request.url
        }
        _ = bo_easy_setopt_long(h, CURLOPT_POSTFIELDSIZE, t.request.body.count)
        t.request.body.withUnsafeBytes { raw in
            _ = bo_easy_setopt_ptr(h, CURLOPT_COPYPOSTFIELDS, raw.baseAddress ?? UnsafeRawPointer(bitPattern: 1))
        }
        _ = bo_easy_setopt_long(h, CURLOPT_TIMEOUT_MS, Int(t.request.timeout.milliseconds))
        _ = bo_easy_setopt_long(h, CURLOPT_CONNECTTIMEOUT_MS, Int(min(connectTimeout, t.request.timeout).milliseconds))
        // libcurl adds `Expect: 100-continue` to larger bodies only (over 1 KiB in older
        // versions, 1 MiB now); the empty `Expect:` turns it off where it could apply.
        let headers = t.request.headersAtStart?() ?? t.request.headers
        t.headers = Self.headerList(t.request.body.count > 1024 ? headers + ["Expect:"] : headers)
        _ = bo_easy_setopt_ptr(h, CURLOPT_HTTPHEADER, UnsafeRawPointer(t.headers))
        let user = Unmanaged.passUnretained(t).toOpaque()
        _ = bo_easy_setopt_ptr(h, CURLOPT_WRITEDATA, UnsafeRawPointer(user))
        running[key] = t
        curl_multi_add_handle(multi, h)
    }

    /// Hands each finished transfer's result to its `done` — after starting, in the
    /// room the finished ones leave, what waits to start.
    private func drainFinished() {
        var left: Int32 = 0
        ended.removeAll(keepingCapacity: true)
        while let msg = curl_multi_info_read(multi, &left) {
            guard msg.pointee.msg == CURLMSG_DONE, let h = msg.pointee.easy_handle else { continue }
            let code = msg.pointee.data.result
            let key = Int(bitPattern: UnsafeRawPointer(h))
            guard let t = running.removeValue(forKey: key) else { continue }
            var status = 0
            _ = bo_easy_getinfo_long(h, CURLINFO_RESPONSE_CODE, &status)
            var retry: curl_off_t = -1
            _ = bo_easy_getinfo_off(h, CURLINFO_RETRY_AFTER, &retry)
            curl_multi_remove_handle(multi, h)
            free(t.headers)
            t.headers = nil
            var codeValue = Int(code.rawValue)
            var message = codeValue == 0 ? "" : String(cString: curl_easy_strerror(code))
            if code == CURLE_WRITE_ERROR, status > 0 {
                // We stopped reading a body over 64 KiB: the status still stands.
                codeValue = 0
                message = ""
            }
            if idle.count < 512 {
                idle.append(h)
            } else {
                handleURL[key] = nil
                curl_easy_cleanup(h)
            }
            let result = HTTPResult(status: status, curlCode: codeValue, curlError: message,
                                    retryAfter: retry > 0 ? Int(retry) : nil,
                                    body: t.body, elapsed: ContinuousClock.now - t.started)
            ended.append((t, result))
        }
        guard !ended.isEmpty else { return }
        mutex.lock()
        for (t, _) in ended { for l in t.limits { l.running -= 1 } }
        let next = takeStartable()
        mutex.unlock()
        for t in next { start(t) }
        for (t, result) in ended { t.done(t.index, result) }
        ended.removeAll(keepingCapacity: true)  // let go of the transfers now
    }

    /// The headers as a `curl_slist` in one allocation (nodes, then the NUL-terminated
    /// lines), freed with `free`: `curl_slist_append` allocates twice per header.
    static func headerList(_ headers: [String]) -> UnsafeMutablePointer<curl_slist>? {
        guard !headers.isEmpty else { return nil }
        let nodeBytes = headers.count * MemoryLayout<curl_slist>.stride
        let raw = malloc(nodeBytes + headers.reduce(0) { $0 + $1.utf8.count + 1 })!
        let nodes = raw.bindMemory(to: curl_slist.self, capacity: headers.count)
        var text = (raw + nodeBytes).assumingMemoryBound(to: CChar.self)
        for (i, header) in headers.enumerated() {
            var line = header
            let n = line.withUTF8 { utf8 in
                if let base = utf8.baseAddress { UnsafeRawPointer(base).withMemoryRebound(to: CChar.self, capacity: utf8.count) { text.update(from: $0, count: utf8.count) } }
                return utf8.count
            }
            text[n] = 0
            nodes[i] = curl_slist(data: text, next: i + 1 < headers.count ? nodes + i + 1 : nil)
            text += n + 1
        }
        return nodes
    }

    private final class Transfer: @unchecked Sendable {
        let request: HTTPPost
        let index: Int
        let limits: [TransferLimit]
        let done: @Sendable (Int, HTTPResult) -> Void
        var headers: UnsafeMutablePointer<curl_slist>?
        var body: [UInt8] = []
        var started = ContinuousClock.now

        init(request: HTTPPost, index: Int, limits: [TransferLimit], done: @escaping @Sendable (Int, HTTPResult) -> Void) {
            self.request = request
            self.index = index
            self.limits = limits
            self.done = done
        }
    }
}
