import IntakeSystem
import Synchronization

/// A ``TimeSource`` that moves only when a test says so, so tests of settling and timeouts never
/// sleep: both clocks advance together.
public final class ManualTime: TimeSource {
    private let now: Mutex<(wall: Double, monotonic: Double)>

    /// Starts at `wall` seconds since 1970 (2026-01-01 by default) and monotonic time 1000.
    public init(wall: Double = 1_767_225_600, monotonic: Double = 1_000) {
        now = Mutex((wall, monotonic))
    }

    public func wallSeconds() -> Double { now.withLock { $0.wall } }

    public func monotonicSeconds() -> Double { now.withLock { $0.monotonic } }

    /// Moves both clocks forward by `seconds`.
    public func advance(by seconds: Double) {
        now.withLock { $0 = ($0.wall + seconds, $0.monotonic + seconds) }
    }
}
