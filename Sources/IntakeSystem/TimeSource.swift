#if canImport(Glibc)
import Glibc
#endif

/// Where the watcher and the importer read the time, injected so that tests can drive it.
///
/// Two clocks, because they answer different questions: the wall clock says *when* (what the
/// database records, how old a file's modification time is), the monotonic clock says *how long*
/// (settle times, timeouts) and never jumps when the system time is set.
public protocol TimeSource: Sendable {
    /// Seconds since 1970, UTC.
    func wallSeconds() -> Double
    /// Seconds on a clock that only moves forward, from an arbitrary start.
    func monotonicSeconds() -> Double
}

extension TimeSource {
    /// The wall time as Intake stores it: UTC, `YYYY-MM-DD HH:MM:SS`.
    public func utcNow() -> String { UTC.format(Int(wallSeconds())) }
}

/// The machine's clocks (`CLOCK_REALTIME`, `CLOCK_MONOTONIC`).
public struct SystemTime: TimeSource {
    /// The machine's clocks, read on each call.
    public init() {}

    /// `CLOCK_REALTIME`: seconds since 1970, UTC; jumps when the system time is set.
    public func wallSeconds() -> Double { Self.read(CLOCK_REALTIME) }

    /// `CLOCK_MONOTONIC`: seconds from an arbitrary start, never going back.
    public func monotonicSeconds() -> Double { Self.read(CLOCK_MONOTONIC) }

    private static func read(_ clock: clockid_t) -> Double {
        var ts = timespec()
        clock_gettime(clock, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
