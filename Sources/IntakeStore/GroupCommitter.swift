import Dispatch
import IntakeSystem
import Synchronization

/// Durable writes for many concurrent requests at the price of few fsyncs: the writes that
/// arrive while a commit is in flight go into the next transaction together, each in its own
/// savepoint (one failing write rolls back only itself), and every caller is answered only after
/// the transaction that holds its write committed (`synchronous=FULL`: on disk).
///
/// One thread owns the connection; callers suspend, no cooperative thread blocks on SQLite.
/// When another connection (a file import) holds the write lock longer than `busySeconds`, the
/// whole waiting batch fails with ``Busy`` and callers answer "try again" instead of queueing
/// without bound; so does a queue past `maxQueued`.
public final class GroupCommitter: Sendable {
    /// The store stayed locked by another writer past the bound, or too many writes are waiting.
    public struct Busy: Error, Sendable, CustomStringConvertible {
        public var description: String { "the store is busy (a file import holds the write lock); try again shortly" }
    }

    /// The committer was shut down before it could take the write.
    public struct Stopped: Error, Sendable {}

    private struct Queue {
        var writes: [any PendingWrite] = []
        var stopped = false
    }

    private let queue = Mutex(Queue())
    private let wake = DispatchSemaphore(value: 0)
    private let exited = DispatchSemaphore(value: 0)
    private let maxQueued: Int
    /// Writes per transaction at most: bounds the time the first caller in a batch waits.
    private let maxBatch: Int

    /// Opens the database at `path` on the committer's own thread.
    /// - Throws: ``SQLiteError`` when it cannot be opened.
    public init(path: String, busySeconds: Double, maxQueued: Int = 10_000, maxBatch: Int = 1_000) throws(SQLiteError) {
        self.maxQueued = maxQueued
        self.maxBatch = maxBatch
        let database = Unchecked(try Database(path: path))
        database.value.setBusyTimeout(seconds: busySeconds)
        DetachedThread.start { [self] in
            self.loop(database.value)
            self.exited.signal()
        }
    }

    /// Runs `body` in the next transaction and returns its value once that transaction is durable.
    /// A throw from `body` rolls back its own changes only and reaches the caller.
    /// - Throws: what `body` throws; ``Busy``; ``Stopped``; ``SQLiteError`` when the commit fails.
    public func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let write = Write(body: body, continuation: continuation)
            let refusal: (any Error)? = queue.withLock { queue in
                if queue.stopped { return Stopped() }
                if queue.writes.count >= maxQueued { return Busy() }
                queue.writes.append(write)
                return nil
            }
            if let refusal { continuation.resume(throwing: refusal) } else { wake.signal() }
        }
    }

    /// Finishes the writes already queued, refuses new ones and closes the connection.
    public func shutdown() {
        let first = queue.withLock { queue in
            defer { queue.stopped = true }
            return !queue.stopped
        }
        guard first else { return }
        wake.signal()
        exited.wait()
    }

    private func loop(_ database: Database) {
        while true {
            wake.wait()
            while true {
                let (batch, stopped) = queue.withLock { queue in
                    let taken = Array(queue.writes.prefix(maxBatch))
                    queue.writes.removeFirst(taken.count)
                    return (taken, queue.stopped)
                }
                if batch.isEmpty {
                    if stopped { return }
                    break
                }
                commit(batch, on: database)
            }
        }
    }

    private func commit(_ batch: [any PendingWrite], on database: Database) {
        do {
            try database.execute("BEGIN IMMEDIATE")
        } catch {
            let reported: any Error = error.isBusy ? Busy() : error
            for write in batch { write.finish(failure: reported) }
            return
        }
        for write in batch {
            do {
                try database.execute("SAVEPOINT write")
                if write.run(database) {
                    try database.execute("RELEASE write")
                } else {
                    try database.execute("ROLLBACK TO write; RELEASE write")
                }
            } catch {
                // A savepoint statement itself failed: the transaction is in doubt, so none of it stays.
                try? database.execute("ROLLBACK")
                for write in batch { write.finish(failure: error) }
                return
            }
        }
        do {
            try database.execute("COMMIT")
            for write in batch { write.finish(failure: nil) }
        } catch {
            try? database.execute("ROLLBACK")
            for write in batch { write.finish(failure: error.isBusy ? Busy() : error) }
        }
    }
}

/// One queued write; the committer's thread runs it and then finishes it once.
private protocol PendingWrite: AnyObject, Sendable {
    /// Runs the write on the committer's connection; false when it threw (its savepoint is rolled back).
    func run(_ database: Database) -> Bool
    /// Answers the caller: with the write's own result, or with `failure` when the transaction
    /// did not commit.
    func finish(failure: (any Error)?)
}

private final class Write<T: Sendable>: PendingWrite, @unchecked Sendable {
    // Touched only by the committer's thread, between run and finish.
    private let body: @Sendable (Database) throws -> T
    private let continuation: CheckedContinuation<T, any Error>
    private var result: Result<T, any Error>?

    init(body: @escaping @Sendable (Database) throws -> T, continuation: CheckedContinuation<T, any Error>) {
        self.body = body
        self.continuation = continuation
    }

    func run(_ database: Database) -> Bool {
        do {
            result = .success(try body(database))
            return true
        } catch {
            result = .failure(error)
            return false
        }
    }

    func finish(failure: (any Error)?) {
        switch (result, failure) {
        case (.failure(let own)?, _): continuation.resume(throwing: own)
        case (_, let failure?): continuation.resume(throwing: failure)
        case (.success(let value)?, nil): continuation.resume(returning: value)
        case (nil, nil): continuation.resume(throwing: GroupCommitter.Stopped())
        }
    }
}

private extension Error {
    var isBusy: Bool { (self as? SQLiteError)?.isBusy ?? false }
}
