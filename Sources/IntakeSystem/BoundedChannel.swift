import Dispatch
import Synchronization

/// A blocking first-in-first-out channel between two threads, holding at most `capacity`
/// messages: the sender waits while it is full, the receiver while it is empty. Messages are
/// usually batches of rows, so the channel bounds the memory in flight however large the file.
///
/// Either side may stop early with ``cancel()``: a waiting or later ``send(_:)`` returns false and
/// ``receive()`` returns nil, so neither side of a pipeline whose other end gave up blocks forever.
public final class BoundedChannel<Message: Sendable>: Sendable {
    private let queue = Mutex<[Message]>([])
    private let filled = DispatchSemaphore(value: 0)
    private let free = DispatchSemaphore(value: 0)
    private let cancelled = Atomic<Bool>(false)

    /// An empty channel for at most `capacity` messages; `capacity` must be positive.
    public init(capacity: Int) {
        precondition(capacity > 0)
        // Both semaphores start at 0 and `free` is raised by hand: libdispatch traps when a
        // semaphore is destroyed below its initial value, which a cancelled channel would be.
        for _ in 0..<capacity { free.signal() }
    }

    /// Appends `message`, waiting for room; false when the channel was cancelled.
    ///
    /// The message is moved in, not copied: a sender that passes its last reference
    /// (`send(consume batch)`) keeps none, so the receiver's is the only one and the message is
    /// freed on the receiver's thread, not on the sender's by whichever thread lets go last (only
    /// a message refused by a cancelled channel is freed here, on the sender's).
    @discardableResult
    public func send(_ message: consuming Message) -> Bool {
        free.wait()
        if cancelled.load(ordering: .acquiring) {
            free.signal() // let any other waiting sender see the cancellation too
            return false
        }
        var pending = Optional(consume message)
        queue.withLock { $0.append(pending.take()!) }
        filled.signal()
        return true
    }

    /// The oldest message, waiting for one to arrive; nil once the channel was cancelled.
    public func receive() -> Message? {
        filled.wait()
        if cancelled.load(ordering: .acquiring) {
            filled.signal() // let any other waiting receiver see the cancellation too
            return nil
        }
        let message = queue.withLock { $0.removeFirst() }
        free.signal()
        return message
    }

    /// Makes every waiting and later ``send(_:)`` return false and ``receive()`` return nil.
    public func cancel() {
        cancelled.store(true, ordering: .releasing)
        free.signal()
        filled.signal()
    }
}
