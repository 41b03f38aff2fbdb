import Dispatch
import Synchronization

/// Dedicated threads for blocking work (SQLite, libpq, file I/O, parsing), so that it never
/// occupies a thread of Swift's cooperative pool, where it would stall every other task of the
/// process. Jobs start in the order they were queued; with one thread they also run one at a
/// time, which is how the watcher keeps its imports in order. With `count` threads at most
/// `count` jobs run at once, which also bounds whatever each job holds (a database connection).
///
/// `Sendable`: the job queue is a `Mutex` and the wake-up a `DispatchSemaphore`, both safe to
/// share between the awaiting tasks and the threads.
public final class BlockingThreads: Sendable {
    private struct Queue {
        var jobs: [@Sendable () -> Void] = []
        var finished = false
    }
    /// The jobs and the shutdown flag under one lock, so no job is queued after the threads
    /// decided to end (its caller would wait forever).
    private let queue = Mutex(Queue())
    private let wakeUp = DispatchSemaphore(value: 0)
    private let count: Int

    /// The threads were shut down before the job was queued.
    public struct Stopped: Error, CustomStringConvertible {
        public var description: String { "the worker threads were shut down" }
    }

    /// Starts `count` threads.
    public init(count: Int = 1) {
        precondition(count > 0, "a pool needs a thread")
        self.count = count
        for _ in 0..<count { DetachedThread.start { [self] in loop() } }
    }

    private func loop() {
        while true {
            wakeUp.wait()
            let (job, finished) = queue.withLock { queue in
                (queue.jobs.isEmpty ? nil : queue.jobs.removeFirst(), queue.finished)
            }
            guard let job else {
                if finished { return }
                continue
            }
            job()
        }
    }

    /// Runs `body` on one of the threads and returns its result to the awaiting task.
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let queued = queue.withLock { queue in
                guard !queue.finished else { return false }
                queue.jobs.append { continuation.resume(with: Result { try body() }) }
                return true
            }
            guard queued else { return continuation.resume(throwing: Stopped()) }
            wakeUp.signal()
        }
    }

    /// Jobs queued that no thread has taken yet.
    public var queuedJobs: Int { queue.withLock { $0.jobs.count } }

    /// Lets the threads end once the queue is empty; jobs queued before still run.
    public func shutdown() {
        queue.withLock { $0.finished = true }
        for _ in 0..<count { wakeUp.signal() }
    }
}
