import IntakeSystem
import Synchronization

/// SQLite connections for the API's reads (tokens, customers, imports), one per read in flight.
///
/// WAL lets these read while a file import or the ``GroupCommitter`` writes. Reads are point
/// lookups and short pages on a local file, microseconds each, so they run on the request's task
/// instead of hopping to a thread (which would cost more than the read); a connection is taken
/// out of the pool for the duration of one closure, so no two tasks ever share one. Since a read
/// never suspends, at most one runs per cooperative thread; the pool keeps up to `keep`
/// connections for reuse.
public final class SQLiteReadPool: ServeReading {
    private let path: String
    private let keep: Int
    private let idle = Mutex<[Unchecked<Database>]>([])

    /// A pool over the database at `path`.
    public init(path: String, keep: Int = 16) {
        self.path = path
        self.keep = keep
    }

    public func read<T: Sendable>(_ body: @escaping @Sendable (any ServeReads) throws -> T) async throws -> T {
        try readNow(body)
    }

    private func readNow<T>(_ body: (any ServeReads) throws -> T) throws -> T {
        let database = try idle.withLock { $0.popLast() } ?? Unchecked(Database(path: path))
        defer {
            idle.withLock { connections in
                if connections.count < keep { connections.append(database) }
            }
        }
        return try body(database.value)
    }

    public func shutdown() {
        idle.withLock { $0.removeAll() }
    }
}

extension ServeStores {
    /// The SQLite store at `path`: a pool of read connections and one group-committing writer
    /// that gives up on a file import's lock after `busySeconds`.
    public static func sqlite(path: String, busySeconds: Double) throws -> ServeStores {
        ServeStores(reads: SQLiteReadPool(path: path), writes: CommittingWriter(try GroupCommitter<Database>(path: path, busySeconds: busySeconds)), databaseFile: path)
    }
}
