#if canImport(Glibc)
import Glibc
#endif

extension Instant {
    /// The wall clock, the one every part of the daemon reads: at the edges only, never
    /// inside the decision core (which is handed the time).
    public static func now() -> Instant {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Instant(milliseconds: Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000)
    }
}
