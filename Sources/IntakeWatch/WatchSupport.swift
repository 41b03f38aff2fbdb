import Synchronization

/// What a ``WatchService`` tells whoever started it, for tests and embedding; both are called on
/// the service's task and must return quickly.
public struct WatchObserver: Sendable {
    /// The watches are set and the start-up scan is queued.
    public var ready: @Sendable () -> Void
    /// A pass over settling files ended; the argument is how many still wait.
    public var passed: @Sendable (Int) -> Void
    /// The loop ended (shutdown, or a failure of inotify); no more files are noticed.
    public var stopped: @Sendable () -> Void

    /// An observer that ignores every call unless it is given.
    public init(ready: @escaping @Sendable () -> Void = {}, passed: @escaping @Sendable (Int) -> Void = { _ in },
                stopped: @escaping @Sendable () -> Void = {}) {
        self.ready = ready
        self.passed = passed
        self.stopped = stopped
    }
}

/// A flag shared between threads: set at graceful shutdown, or by a settings reload.
final class Flag: Sendable {
    private let state = Atomic<Bool>(false)
    var isSet: Bool { state.load(ordering: .acquiring) }
    func set() { state.store(true, ordering: .releasing) }
    /// Whether it was set, clearing it.
    func take() -> Bool { state.exchange(false, ordering: .acquiringAndReleasing) }
}
