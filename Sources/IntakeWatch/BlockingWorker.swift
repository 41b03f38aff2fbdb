import IntakeSystem
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One dedicated thread for blocking work (SQLite, file I/O, parsing), so that imports never
/// occupy a thread of Swift's cooperative pool. Jobs run one at a time, in order.
///
/// `@unchecked Sendable`: the job queue is a `Mutex`, the wake-up is a POSIX semaphore, and the
/// thread handle is only touched at start.
final class BlockingWorker: @unchecked Sendable {
    private let jobs = Mutex<[@Sendable () -> Void]>([])
    private var semaphore = sem_t()
    private let finished = Mutex(false)

    init() {
        sem_init(&semaphore, 0, 0)
        DetachedThread.start { [self] in loop() }
    }

    private func loop() {
        while true {
            while sem_wait(&semaphore) != 0 && errno == EINTR {}
            let job = jobs.withLock { $0.isEmpty ? nil : $0.removeFirst() }
            guard let job else {
                if finished.withLock({ $0 }) { return }
                continue
            }
            job()
        }
    }

    /// Runs `body` on the worker thread and returns its result to the awaiting task.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            jobs.withLock { $0.append { continuation.resume(with: Result { try body() }) } }
            sem_post(&semaphore)
        }
    }

    /// Lets the thread end once its queue is empty.
    func shutdown() {
        finished.withLock { $0 = true }
        sem_post(&semaphore)
    }
}
