@testable import Daemon
import Testing

/// The heap's trim threshold is set through glibc's `mallopt`, found at run time.
@Suite struct HeapTrimTests {
    @Test func glibcTakesTheThreshold() {
        #expect(HeapTrim.configure(), "mallopt was not found, or refused M_TRIM_THRESHOLD")
    }
}
