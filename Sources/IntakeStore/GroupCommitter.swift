import Dispatch
import IntakeSystem
import Synchronization

/// A connection a ``GroupCommitter`` batches writes on: one transaction, a savepoint per write.
public protocol GroupCommitConnection: AnyObject, SendableMetatype {
    /// Starts the batch's transaction, waiting for another writer's lock within the store's bound.
    func beginBatch() throws
    /// Wraps one write: `SAVEPOINT`, then `RELEASE` or `ROLLBACK TO` + `RELEASE`.
    func savepoint() throws
    func releaseSavepoint() throws
    func rollbackToSavepoint() throws
    /// Commits the batch durably; throws when it did not commit.
    func commitBatch() throws
    func rollbackBatch()
    /// Whether `error` from beginning or committing means "locked by another writer past the bound".
    func isBusy(_ error: any Error) -> Bool
}

/// Durable writes for many concurrent requests at the price of few fsyncs: the writes that
/// arrive while a commit is in flight go into the next transaction together, each in its own
/// savepoint (one failing write rolls back only itself), and every caller is answered only after
/// the transaction that holds its write committed (on disk).
///
/// One thread owns the connection; callers suspend, no cooperative thread blocks on the store.
/// When another connection (a file import) holds the write lock longer than the store's bound,
/// the whole waiting batch fails with ``StoreBusy`` and callers answer "try again" instead of
/// queueing without bound; so does a queue past `maxQueued`.
public final class GroupCommitter<Connection: GroupCommitConnection>: Sendable {
    private struct Queue {
        var writes: [any PendingWrite<Connection>] = []
        var stopped = false
    }

    private let queue = Mutex(Queue())
    private let wake = DispatchSemaphore(value: 0)
    private let exited = DispatchSemaphore(value: 0)
    private let maxQueued: Int
    /// Writes per transaction at most: bounds the time the first caller in a batch waits.
    private let maxBatch: Int

    /// Takes `connection` over: from now on only the committer's thread uses it.
    public init(connection: Connection, maxQueued: Int = 10_000, maxBatch: Int = 1_000) {
        self.maxQueued = maxQueued
        self.maxBatch = maxBatch
        let owned = Unchecked(connection)
        DetachedThread.start { [self] in
            self.loop(owned.value)
            self.exited.signal()
        }
    }

    /// Runs `body` in the next transaction and returns its value once that transaction is durable.
    /// A throw from `body` rolls back its own changes only and reaches the caller.
    /// - Throws: what `body` throws; ``StoreBusy``; ``StoreStopped``; the store's error when the commit fails.
    public func write<T: Sendable>(_ body: @escaping @Sendable (Connection) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let write = Write<Connection, T>(body: body, continuation: continuation)
            let refusal: (any Error)? = queue.withLock { queue in
                if queue.stopped { return StoreStopped() }
                if queue.writes.count >= maxQueued { return StoreBusy() }
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

    private func loop(_ database: Connection) {
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

    private func commit(_ batch: [any PendingWrite<Connection>], on connection: Connection) {
        do {
            try connection.beginBatch()
        } catch {
            let reported: any Error = connection.isBusy(error) ? StoreBusy() : error
            for write in batch { write.finish(failure: reported) }
            return
        }
        for write in batch {
            do {
                try connection.savepoint()
                if write.run(connection) {
                    try connection.releaseSavepoint()
                } else {
                    try connection.rollbackToSavepoint()
                }
            } catch {
                // A savepoint statement itself failed: the transaction is in doubt, so none of it stays.
                connection.rollbackBatch()
                for write in batch { write.finish(failure: error) }
                return
            }
        }
        do {
            try connection.commitBatch()
            for write in batch { write.finish(failure: nil) }
        } catch {
            connection.rollbackBatch()
            for write in batch { write.finish(failure: connection.isBusy(error) ? StoreBusy() : error) }
        }
    }
}

/// One queued write; the committer's thread runs it and then finishes it once.
private protocol PendingWrite<Connection>: AnyObject, Sendable {
    associatedtype Connection
    /// Runs the write on the committer's connection; false when it threw (its savepoint is rolled back).
    func run(_ connection: Connection) -> Bool
    /// Answers the caller: with the write's own result, or with `failure` when the transaction
    /// did not commit.
    func finish(failure: (any Error)?)
}

private final class Write<Connection, T: Sendable>: PendingWrite, @unchecked Sendable {
    // Touched only by the committer's thread, between run and finish.
    private let body: @Sendable (Connection) throws -> T
    private let continuation: CheckedContinuation<T, any Error>
    private var result: Result<T, any Error>?

    init(body: @escaping @Sendable (Connection) throws -> T, continuation: CheckedContinuation<T, any Error>) {
        self.body = body
        self.continuation = continuation
    }

    func run(_ connection: Connection) -> Bool {
        do {
            result = .success(try body(connection))
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
        case (nil, nil): continuation.resume(throwing: StoreStopped())
        }
    }
}

extension GroupCommitter where Connection == Database {
    /// Opens the SQLite database at `path` for the committer's thread; a batch waits at most
    /// `busySeconds` for a file import's write lock.
    /// - Throws: ``SQLiteError`` when it cannot be opened.
    public convenience init(path: String, busySeconds: Double, maxQueued: Int = 10_000, maxBatch: Int = 1_000) throws(SQLiteError) {
        let database = try Database(path: path)
        database.setBusyTimeout(seconds: busySeconds)
        self.init(connection: database, maxQueued: maxQueued, maxBatch: maxBatch)
    }
}

/// The HTTP side's writes through a committer whose connection serves them.
public struct CommittingWriter<Connection: GroupCommitConnection & ServeWrites>: ServeWriting {
    public let committer: GroupCommitter<Connection>

    public init(_ committer: GroupCommitter<Connection>) { self.committer = committer }

    public func write<T: Sendable>(_ body: @escaping @Sendable (any ServeWrites) throws -> T) async throws -> T {
        try await committer.write { (connection: Connection) in try body(connection) }
    }

    public func shutdown() { committer.shutdown() }
}

extension Database: GroupCommitConnection {
    public func beginBatch() throws { try execute("BEGIN IMMEDIATE") }
    public func savepoint() throws { try execute("SAVEPOINT write") }
    public func releaseSavepoint() throws { try execute("RELEASE write") }
    public func rollbackToSavepoint() throws { try execute("ROLLBACK TO write; RELEASE write") }
    public func commitBatch() throws { try execute("COMMIT") }
    public func rollbackBatch() { try? execute("ROLLBACK") }
    public func isBusy(_ error: any Error) -> Bool { (error as? SQLiteError)?.isBusy ?? false }
}
