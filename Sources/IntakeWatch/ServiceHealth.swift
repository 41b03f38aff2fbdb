import IntakeSystem
import Synchronization

/// What `/readyz` and the operator view ask of the running watcher: whether its inotify loop is
/// up, and since when the process runs. Set by ``WatchService`` through a ``WatchObserver``
/// (``observer(_:)``), read by the HTTP side.
public final class ServiceHealth: Sendable {
    private let watching = Atomic<Bool>(false)
    /// When the process started, for uptime (monotonic seconds of the clock it was given).
    public let startedAt: Double
    private let clock: any TimeSource

    public init(clock: any TimeSource = SystemTime()) {
        self.clock = clock
        startedAt = clock.monotonicSeconds()
    }

    /// The inotify watches are set and the loop runs.
    public var isWatching: Bool { watching.load(ordering: .acquiring) }
    public var uptimeSeconds: Double { clock.monotonicSeconds() - startedAt }

    func setWatching(_ value: Bool) { watching.store(value, ordering: .releasing) }

    /// An observer that marks the watcher up when its watches are set, chained before `next`.
    public func observer(_ next: WatchObserver = WatchObserver()) -> WatchObserver {
        WatchObserver(ready: { [self] in setWatching(true); next.ready() }, passed: next.passed, stopped: { [self] in setWatching(false); next.stopped() })
    }
}
