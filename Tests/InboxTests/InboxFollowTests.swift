import BackorderCore
import Foundation
import Inbox
import Store
import TestSupport
import Testing

@Suite struct InboxFollowTests {
    typealias H = InboxHarness

    @Test func readsAFileDroppedByRename() async throws {
        let h = H()
        try await h.start()
        try Files.drop(h.path("a.jsonl"), H.stock("S", 4) + H.delta("S", 3))
        try await h.waitOnHand("S", 7)
        let cursors = try h.store.cursors()
        #expect(cursors.map(\.name) == ["a.jsonl"])
        #expect(cursors.first?.line == 2)
    }

    @Test func anInboxRemovedAndMadeAgainIsWatchedAgain() async throws {
        let h = H()
        try await h.start()
        try Files.drop(h.path("a.jsonl"), H.stock("S", 4))
        try await h.waitOnHand("S", 4)
        try FileManager.default.removeItem(atPath: h.inboxDir)
        try await eventually("the loss is logged") { h.logs.all.contains { $0.contains("event=inbox_watch_lost") } }
        try FileManager.default.createDirectory(atPath: h.inboxDir, withIntermediateDirectories: false)
        try await eventually("watched again") { h.logs.all.contains { $0.contains("event=inbox_watch_restored") } }
        // A file dropped into the new directory is read: through the new watch, not a poll
        // (this harness polls nothing).
        try Files.drop(h.path("b.jsonl"), H.stock("T", 2))
        try await h.waitOnHand("T", 2)
        try Files.append(h.path("b.jsonl"), H.delta("T", 1))
        try await h.waitOnHand("T", 3)
    }

    @Test func appliesALineOnlyOnceItEnds() async throws {
        let h = H()
        try await h.start()
        let line = H.delta("S", 1)
        let cut = line.index(line.startIndex, offsetBy: 10)
        try Files.append(h.path("a.jsonl"), String(line[..<cut]))
        // A marker in another file proves the inbox has looked since the first piece.
        try Files.append(h.path("marker.jsonl"), H.stock("M", 1))
        try await h.waitOnHand("M", 1)
        #expect(try h.onHand("S") == nil)
        try Files.append(h.path("a.jsonl"), String(line[cut...]))
        try await h.waitOnHand("S", 1)
        try Files.append(h.path("a.jsonl"), H.delta("S", 1))
        try await h.waitOnHand("S", 2)
    }

    @Test func appliesAnUnterminatedLastLineOnceSettled() async throws {
        let h = H(settle: .ms(100))
        try await h.start()
        var text = H.stock("S", 9)
        text.removeLast()
        try Files.append(h.path("a.jsonl"), text)
        try await h.waitOnHand("S", 9)
        let c = try h.store.cursors().first
        #expect(c?.offset == Int64(text.utf8.count))
        // The newline that follows later is a blank line, not a second record.
        try Files.append(h.path("a.jsonl"), "\n" + H.delta("S", 1))
        try await h.waitOnHand("S", 10)
        #expect(h.rejected.isEmpty)
    }

    @Test func rereadsATruncatedFileFromTheStart() async throws {
        let h = H()
        try await h.start()
        try Files.append(h.path("a.jsonl"), H.delta("S", 1) + H.delta("S", 1))
        try await h.waitOnHand("S", 2)
        try Files.write(h.path("a.jsonl"), H.delta("S", 5))
        try await h.waitOnHand("S", 7)
        #expect(h.logs.contains("event=file_truncated"))
    }

    @Test func ignoresHiddenTemporaryAndUnmatchedNames() async throws {
        let h = H()
        try await h.start()
        for name in [".hidden.jsonl", "a.jsonl.tmp", "b.jsonl.part", "c.txt", "d.json"] {
            try Files.write(h.path(name), H.stock("X", 1))
        }
        try Files.write(h.path("marker.ndjson"), H.stock("M", 1))
        try await h.waitOnHand("M", 1)
        #expect(try h.onHand("X") == nil)
        #expect(try h.store.cursors().map(\.name) == ["marker.ndjson"])
    }

    @Test func neverFollowsSymbolicLinks() async throws {
        let h = H()
        let outside = h.root.file("secret.jsonl")
        try Files.write(outside, H.stock("SECRET", 1) + "root:x:0:0\n")
        try await h.start()
        #expect(symlink(outside, h.path("link.jsonl")) == 0)
        try Files.write(h.path("marker.jsonl"), H.stock("M", 1))
        try await h.waitOnHand("M", 1)
        #expect(try h.onHand("SECRET") == nil)
        #expect(!Files.read(h.stateDir + "/rejected.jsonl").contains("root:x"))
        #expect(h.logs.contains("event=file_skipped file=link.jsonl"))
    }

    @Test func skipsFIFOsWithoutBlocking() async throws {
        let h = H()
        try await h.start()
        #expect(mkfifo(h.path("pipe.jsonl"), 0o600) == 0)
        try Files.write(h.path("marker.jsonl"), H.stock("M", 1))
        try await h.waitOnHand("M", 1)
        #expect(h.logs.contains("file=pipe.jsonl"))
    }

    @Test func resumesAtTheStoredOffsetAfterARestart() async throws {
        let h = H()
        try await h.start()
        try Files.append(h.path("a.jsonl"), H.delta("S", 1) + H.delta("S", 1) + H.delta("S", 1))
        try await h.waitOnHand("S", 3)
        await h.stop()
        try Files.append(h.path("a.jsonl"), H.delta("S", 10) + H.delta("S", 10))
        try await h.start()
        #expect(try h.onHand("S") == 23)
        #expect(try h.store.cursors().first?.line == 5)
    }

    @Test func readsANewFileThatReusesAKnownInodeFromTheStart() async throws {
        let h = H()
        try await h.start()
        try Files.append(h.path("a.jsonl"), H.delta("S", 1))
        try await h.waitOnHand("S", 1)
        await h.stop()
        // Same inode, different content at the head: a different file.
        try Files.write(h.path("a.jsonl"), H.delta("T", 1) + H.delta("T", 1) + H.delta("T", 1))
        try await h.start()
        #expect(try h.onHand("T") == 3)
        #expect(h.logs.contains("event=file_replaced"))
    }

    /// Padding past the 256 bytes of the head fingerprint, so only the tail check can tell.
    static let head = String(repeating: H.stock("PAD", 1), count: 8)

    @Test func aFileRewrittenInPlaceWhileFollowedIsReadAgainAsANewFile() async throws {
        let h = H()
        try await h.start()
        try Files.append(h.path("a.jsonl"), Self.head + H.delta("S", 1))
        try await h.waitOnHand("S", 1)
        // Overwrite the last line in place (same length, so the file never shrinks), then
        // add one: the old build read on from its offset and applied only the new line.
        let fd = open(h.path("a.jsonl"), O_WRONLY)
        #expect(fd >= 0)
        let changed = Array((Self.head + H.delta("S", 5)).utf8)
        #expect(pwrite(fd, changed, changed.count, 0) == changed.count)
        close(fd)
        try Files.append(h.path("a.jsonl"), H.delta("S", 10))
        // Read again as a new file: 1 + 5 + 10.
        try await h.waitOnHand("S", 16)
        #expect(h.logs.contains("event=file_rewritten"))
    }

    @Test func aFileRewrittenInPlaceWhileStoppedIsReadAgainNeverFromHalfALine() async throws {
        let h = H()
        try await h.start()
        try Files.append(h.path("a.jsonl"), Self.head + H.delta("S", 1))
        try await h.waitOnHand("S", 1)
        await h.stop()
        // Same inode, same first 256 bytes, a longer line where the old one ended: the old
        // build resumed in the middle of it and applied half a line (or rejected it).
        try Files.write(h.path("a.jsonl"), Self.head + H.delta("S", 1000) + H.delta("S", 2))
        try await h.start()
        #expect(try h.onHand("S") == 1003)
        #expect(h.logs.contains("event=file_replaced"))
        #expect(h.rejected.isEmpty)
        #expect(try h.store.cursors().first?.tailHash != nil)
    }

    @Test func aFileAppendedToIsNeverTakenForARewrite() async throws {
        let h = H()
        try await h.start()
        for i in 1...20 {
            try Files.append(h.path("a.jsonl"), (i == 1 ? Self.head : "") + H.delta("S", 1))
            try await h.waitOnHand("S", Int64(i))
        }
        await h.stop()
        try Files.append(h.path("a.jsonl"), H.delta("S", 1))
        try await h.start()
        #expect(try h.onHand("S") == 21)
        #expect(!h.logs.contains("event=file_rewritten"))
        #expect(!h.logs.contains("event=file_replaced"))
    }

    @Test func aBatchOutOfTimeIsDecidedInPartsAndNothingIsLostOrRepeated() async throws {
        // No time at all: each call decides one record, and the inbox reads on from there.
        let h = H()
        h.decideBudget = .zero
        try await h.start()
        var text = ""
        for i in 1...60 {
            text += H.delta("S", 1)
            if i % 20 == 0 { text += "not json\n\n" }
        }
        try Files.append(h.path("a.jsonl"), text)
        try await h.waitOnHand("S", 60)
        try await eventually("the last line's cursor") { try h.store.cursors().first?.line == 66 }
        #expect(h.rejected.count == 3, "each refused line once: \(h.rejected)")
        #expect(h.inbox.counters.batches >= 60, "decided in parts: \(h.inbox.counters.batches) batches")
        await h.stop()
        try Files.append(h.path("a.jsonl"), H.delta("S", 1))
        try await h.start()
        #expect(try h.onHand("S") == 61)
        #expect(!h.logs.contains("event=file_replaced"), "a cut cursor is not taken for a rewrite")
    }

    @Test func appliesFilesPresentAtStartByModificationTimeThenName() async throws {
        let h = H()
        try Files.write(h.path("a.jsonl"), H.stock("S", 2))
        try Files.write(h.path("b.jsonl"), H.stock("S", 1))
        var older = [timespec(tv_sec: 1_000_000, tv_nsec: 0), timespec(tv_sec: 1_000_000, tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, h.path("b.jsonl"), &older, 0) == 0)
        try await h.start()
        #expect(try h.onHand("S") == 2)
    }

    @Test func splitsLargeFilesIntoBatches() async throws {
        let h = H(batchLines: 1000)
        try Files.write(h.path("big.jsonl"), String(repeating: H.delta("S", 1), count: 2500))
        try await h.start()
        #expect(try h.onHand("S") == 2500)
        #expect(h.inbox.counters.batches == 3)
    }

    @Test func pollingFindsChangesWithoutInotifyEvents() async throws {
        let h = H(poll: .ms(100))
        h.settings.inotify = false
        try await h.start()
        try Files.append(h.path("a.jsonl"), H.delta("S", 1))
        try await h.waitOnHand("S", 1)
    }

    @Test func forgetsFilesThatAreDeleted() async throws {
        let h = H()
        try await h.start()
        try Files.write(h.path("a.jsonl"), H.stock("S", 1))
        try await h.waitOnHand("S", 1)
        #expect(unlink(h.path("a.jsonl")) == 0)
        try await eventually("cursor dropped") { try h.store.cursors().isEmpty }
    }
}

extension InboxFollowTests {
    @Test func aBatchThatReadiesThousandsOfOrdersIsDecidedAndWrittenWhole() async throws {
        let h = H()
        var text = ""
        for i in 0..<2_500 {
            text += #"{"type":"backorder","order":"O-\#(i)","line":"1","sku":"S","qty":1,"ordered_at":"2026-11-01T00:00:00Z","promised_at":"2030-01-01","customer":{"id":"C"}}"# + "\n"
        }
        for _ in 0..<2_500 { text += H.delta("S", 1) }
        text += "not json\n"
        try Files.write(h.path("big.jsonl"), text)
        try await h.start()
        let lines = try h.store.allLines()
        #expect(lines.count == 2_500)
        #expect(lines.allSatisfy { $0.status == .ready })
        #expect(h.inbox.counters.records == 5_000)
        #expect(h.rejected.count == 1, "each reject is written once")
        #expect(try h.store.cursors().first?.line == 5_001)
    }
}
