#if canImport(Glibc)
import Glibc
#endif
import BackorderCore

/// Reads complete lines from one open change file, from a cursor on, and turns them
/// into records and rejects. Holds at most one buffer of `maxLineBytes + 1` bytes.
public final class ChangeFileReader {
    /// Lines longer than this are rejected without being held in memory.
    public static let maxLineBytes = 1 << 20
    /// A batch also ends after this many bytes, whatever its line count: a file of
    /// megabyte-wide lines is applied in transactions of bounded time, so the loop beats
    /// its heartbeat (and systemd's watchdog stays fed) while it works through it.
    public static let maxBatchBytes: Int64 = 8 << 20
    /// How much of an over-long line `rejected.jsonl` keeps.
    public static let rejectedPrefixBytes = 1024

    public enum Format: Sendable { case jsonLines, csv }

    /// What a read produced, and whether more is waiting.
    public struct Reading {
        public var batch: IngestBatch
        /// The batch stopped at `maxLines`; read again at once.
        public var more: Bool
        /// An unterminated last line is waiting for its newline or for the file to settle.
        public var partial: Bool
    }

    private let buffer: UnsafeMutableRawBufferPointer
    private let decoder: RecordDecoder
    private let json = JSONLineParser()
    private let csv = CSVParser()
    private var fields = Fields()
    /// The file offset the buffer was last filled from.
    private var bufferOffset: Int64 = 0

    public init(decoder: RecordDecoder, bufferBytes: Int = ChangeFileReader.maxLineBytes + 1) {
        self.decoder = decoder
        self.buffer = .allocate(byteCount: max(bufferBytes, 64), alignment: 8)
    }

    deinit { buffer.deallocate() }

    public static func format(of name: String) -> Format {
        name.lowercased().hasSuffix(".csv") ? .csv : .jsonLines
    }

    /// Reads up to `maxLines` lines of `fd` from `cursor`. With `flushPartial`, an
    /// unterminated final line is taken as a line (the file has settled).
    public func read(fd: Int32, cursor start: FileCursor, csvHeader: inout [String]?, maxLines: Int,
                     flushPartial: Bool, now: Instant) throws(InboxError) -> Reading {
        var cursor = start
        let format = Self.format(of: cursor.name)
        var batch = IngestBatch(cursor: cursor, readAt: now)
        batch.records.reserveCapacity(min(maxLines, 16_384))
        var partial = false
        var more = false

        if format == .csv, csvHeader == nil, cursor.offset > 0 {
            csvHeader = try rereadHeader(fd: fd, name: cursor.name)
        }

        let firstOffset = cursor.offset
        reading: while true {
            if batch.lineCount >= maxLines || cursor.offset - firstOffset >= Self.maxBatchBytes { more = true; break }
            let n = pread(fd, buffer.baseAddress, buffer.count, off_t(cursor.offset))
            if n < 0 { throw InboxError.io("reading \(cursor.name)", errno) }
            if n == 0 { break }
            bufferOffset = cursor.offset
            let view = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
            var start = 0
            var inQuotes = false
            var fieldStart = true
            var i = 0
            while i < n {
                let end: Int
                if format == .jsonLines {
                    guard let p = memchr(view.baseAddress! + i, 0x0A, n - i) else { break }
                    end = view.baseAddress!.distance(to: UnsafeRawPointer(p))
                } else {
                    // Quote-aware: a line break inside a quoted cell does not end the record.
                    var j = i
                    var found = -1
                    while j < n {
                        let c = view[j]
                        if inQuotes {
                            if c == 0x22 {
                                if j + 1 < n, view[j + 1] == 0x22 { j += 2; continue }
                                inQuotes = false
                            }
                        } else if c == 0x0A {
                            found = j
                            break
                        } else if c == 0x22, fieldStart {
                            inQuotes = true
                        }
                        fieldStart = !inQuotes && (c == 0x2C || c == 0x0A)
                        j += 1
                    }
                    if found < 0 { break }
                    end = found
                }
                let lineBytes = UnsafeRawBufferPointer(rebasing: view[start..<end])
                let physicalLines = format == .csv ? Self.countNewlines(lineBytes) + 1 : 1
                handle(lineBytes, lineNumber: cursor.line + 1, format: format, csvHeader: &csvHeader, batch: &batch,
                       end: (cursor.offset + Int64(end + 1), cursor.line + Int64(physicalLines)))
                cursor.line += Int64(physicalLines)
                start = end + 1
                i = start
                inQuotes = false
                fieldStart = true
                if batch.lineCount >= maxLines || cursor.offset + Int64(start) - firstOffset >= Self.maxBatchBytes { break }
            }
            cursor.offset += Int64(start)
            if start > 0 { continue reading }

            // No line break in what was read.
            if n == buffer.count {
                // Longer than any line may be: reject it, then skip to its end.
                let prefix = Array(view[0..<min(n, Self.rejectedPrefixBytes)])
                let skipped = try skipLine(fd: fd, from: cursor.offset + Int64(n))
                guard skipped != nil || flushPartial else { partial = true; break }
                batch.rejects.append(Reject(file: cursor.name, line: cursor.line + 1,
                                            reason: "line longer than \(Self.maxLineBytes) bytes (1 MiB)", raw: prefix))
                if let skipped {
                    cursor.offset = skipped
                } else {
                    cursor.offset += Int64(n) + (try remainingBytes(fd: fd, from: cursor.offset + Int64(n)))
                }
                cursor.line += 1
                continue reading
            }
            if flushPartial {
                handle(view, lineNumber: cursor.line + 1, format: format, csvHeader: &csvHeader, batch: &batch,
                       end: (cursor.offset + Int64(n), cursor.line + 1))
                cursor.offset += Int64(n)
                cursor.line += 1
                continue reading
            }
            partial = true
            break
        }
        batch.cursor = try fingerprinted(cursor, from: start, fd: fd)
        return Reading(batch: batch, more: more, partial: partial)
    }

    /// Computes the head fingerprint of an open file, as stored in `cursor`.
    public func headHash(fd: Int32, length: Int) throws(InboxError) -> UInt64 {
        try hash(fd: fd, from: 0, length: length) ?? 0
    }

    /// Whether the bytes a cursor was written after are still the file's: its head and
    /// the bytes just before its offset hash as they did. False for a file rewritten in
    /// place (or a new file on an old inode), which must be read again from the start.
    public func stillHolds(_ cursor: FileCursor, fd: Int32) throws(InboxError) -> Bool {
        guard cursor.offset > 0 else { return true }
        guard try headHash(fd: fd, length: cursor.headLength) == cursor.headHash else { return false }
        guard let tail = cursor.tailHash else { return true }
        let length = cursor.tailLength
        return try hash(fd: fd, from: cursor.offset - Int64(length), length: length) == tail
    }

    /// FNV-1a of `length` bytes from `offset`; nil when the file is shorter.
    private func hash(fd: Int32, from offset: Int64, length: Int) throws(InboxError) -> UInt64? {
        guard length > 0 else { return FNV1a.offsetBasis }
        var bytes = [UInt8](repeating: 0, count: length)
        let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, length, off_t(offset)) }
        if n < 0 { throw InboxError.io("reading", errno) }
        guard n == length else { return nil }
        return bytes.withUnsafeBytes { FNV1a.hash($0) }
    }

    /// `cursor` with the head and tail fingerprints of the open file taken at its offset.
    public func fingerprint(_ cursor: FileCursor, fd: Int32) throws(InboxError) -> FileCursor {
        var c = cursor
        c.tailHash = nil
        return try fingerprinted(c, from: c, fd: fd)
    }

    private func fingerprinted(_ cursor: FileCursor, from start: FileCursor, fd: Int32) throws(InboxError) -> FileCursor {
        var c = cursor
        let want = Int(min(Int64(FileCursor.headLimit), c.offset))
        if want > c.headLength {
            c.headHash = try headHash(fd: fd, length: want)
            c.headLength = want
        }
        if c.offset != start.offset || c.tailHash == nil {
            c.tailHash = try hash(fd: fd, from: c.offset - Int64(c.tailLength), length: c.tailLength)
        }
        return c
    }

    private func handle(_ raw: UnsafeRawBufferPointer, lineNumber: Int64, format: Format,
                        csvHeader: inout [String]?, batch: inout IngestBatch, end: (offset: Int64, line: Int64)) {
        var line = raw
        if format == .jsonLines, line.count > 0, line[line.count - 1] == 0x0D {
            line = UnsafeRawBufferPointer(rebasing: line[0..<(line.count - 1)])
        }
        if LineCheck.isBlank(line) { return }
        do throws(RecordError) {
            guard line.count <= Self.maxLineBytes else {
                throw RecordError("line longer than \(Self.maxLineBytes) bytes (1 MiB)")
            }
            try LineCheck.validate(line)
            switch format {
            case .jsonLines:
                try json.parse(line, into: &fields)
            case .csv:
                guard let header = csvHeader else {
                    // The header is the first line that is not blank (a file may start
                    // with an empty line or a byte order mark).
                    if lineNumber == 1 || end.offset - Int64(raw.count) <= Self.headerSearchBytes + 1 && onlyBlankBefore(line: raw) {
                        csvHeader = try csv.header(line)
                        return
                    }
                    throw RecordError("CSV file has no usable header row, so its rows cannot be read")
                }
                try csv.row(line, header: header, into: &fields)
            }
            let record = try decoder.decode(fields)
            batch.records.append(LocatedRecord(line: lineNumber, record: record, endOffset: end.offset, endLine: end.line))
        } catch {
            let keep = min(raw.count, Self.maxLineBytes)
            batch.rejects.append(Reject(file: batch.cursor.name, line: lineNumber, reason: error.reason,
                                        raw: Array(raw[0..<keep])))
        }
    }

    /// How far into a CSV file its header may start, after blank lines.
    static let headerSearchBytes: Int64 = 4096

    /// Whether only blank lines (and a byte order mark) come before `line`, which lies in `buffer`.
    private func onlyBlankBefore(line: UnsafeRawBufferPointer) -> Bool {
        guard let base = buffer.baseAddress, let start = line.baseAddress else { return false }
        let before = UnsafeRawBufferPointer(start: UnsafeRawPointer(base), count: UnsafeRawPointer(base).distance(to: start))
        // Only when the buffer holds the file from its start, so everything before the line is in it.
        return bufferOffset == 0 && Self.isBlankPrefix(before)
    }

    static func isBlankPrefix(_ b: UnsafeRawBufferPointer) -> Bool {
        var i = 0
        if b.count >= 3, b[0] == 0xEF, b[1] == 0xBB, b[2] == 0xBF { i = 3 }
        while i < b.count {
            switch b[i] {
            case 0x20, 0x09, 0x0D, 0x0A: i += 1
            default: return false
            }
        }
        return true
    }

    private func rereadHeader(fd: Int32, name: String) throws(InboxError) -> [String]? {
        let n = pread(fd, buffer.baseAddress, buffer.count, 0)
        if n < 0 { throw InboxError.io("reading \(name)", errno) }
        let view = UnsafeRawBufferPointer(rebasing: buffer[0..<max(n, 0)])
        var start = 0
        while start < view.count {
            guard let nl = view[start...].firstIndex(of: 0x0A) else { return nil }
            let line = UnsafeRawBufferPointer(rebasing: view[start..<nl])
            if !Self.isBlankPrefix(line) { return try? csv.header(line) }
            start = nl + 1
        }
        return nil
    }

    /// Finds the end of an over-long line; returns the offset after its `\n`, or nil at end of file.
    private func skipLine(fd: Int32, from offset: Int64) throws(InboxError) -> Int64? {
        var pos = offset
        while true {
            let n = pread(fd, buffer.baseAddress, buffer.count, off_t(pos))
            if n < 0 { throw InboxError.io("reading", errno) }
            if n == 0 { return nil }
            if let p = memchr(buffer.baseAddress!, 0x0A, n) {
                return pos + Int64(buffer.baseAddress!.distance(to: p)) + 1
            }
            pos += Int64(n)
        }
    }

    private func remainingBytes(fd: Int32, from offset: Int64) throws(InboxError) -> Int64 {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw InboxError.io("fstat", errno) }
        return max(0, Int64(st.st_size) - offset)
    }

    private static func countNewlines(_ b: UnsafeRawBufferPointer) -> Int {
        var k = 0
        for c in b where c == 0x0A { k += 1 }
        return k
    }
}

/// A failure of the inbox itself (not of a line): the directory or a file could not be read.
public enum InboxError: Error, CustomStringConvertible {
    case io(String, Int32)
    case setup(String)

    public var description: String {
        switch self {
        case .io(let what, let code): "\(what): \(String(cString: strerror(code)))"
        case .setup(let what): what
        }
    }
}
