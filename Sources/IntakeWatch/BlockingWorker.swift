import Dispatch
import IntakeSystem
import Synchronization

/// One dedicated thread for blocking work (SQLite, file I/O, parsing), so that imports never
/// occupy a thread of Swift's cooperative pool. Jobs run one at a time, in order.
///
/// `Sendable`: the job queue is a `Mutex` and the wake-up a `DispatchSemaphore`, both safe to
/// share between the awaiting tasks and the worker thread.
final class BlockingWorker: Sendable {
    private let jobs = Mutex<[@Sendable () -> Void]>([])
    private let wakeUp = DispatchSemaphore(value: 0)
    private let finished = Atomic<Bool>(false)

    init() {
        DetachedThread.start { [self] in loop() }
    }

    private func loop() {
        while true {
            wakeUp.wait()
            let job = jobs.withLock { $0.isEmpty ? nil : $0.removeFirst() }
            guard let job else {
                if finished.load(ordering: .acquiring) { return }
                continue
            }
            job()
        }
    }

    /// Runs `body` on the worker thread and returns its result to the awaiting task.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            jobs.withLock { $0.append { continuation.resume(with: Result { try body() }) } }
            wakeUp.signal()
        }
    }

    /// Lets the thread end once its queue is empty.
    func shutdown() {
        finished.store(true, ordering: .releasing)
        wakeUp.signal()
    }
}
