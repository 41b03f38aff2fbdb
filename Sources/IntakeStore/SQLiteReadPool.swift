import IntakeSystem
import Synchronization

/// SQLite connections for the API's reads (tokens, customers, imports), one per request in flight.
///
/// WAL lets these read while a file import or the ``GroupCommitter`` writes. Reads are point
/// lookups and short pages, microseconds each, so they run on the request's task instead of
/// hopping to a thread; a connection is taken out of the pool for the duration of one closure,
/// so no two tasks ever share one. The pool grows to the number of concurrent requests and
/// keeps up to `keep` connections for reuse.
public final class SQLiteReadPool: ServeReading {
    private let path: String
    private let keep: Int
    private let idle = Mutex<[Unchecked<Database>]>([])

    /// A pool over the database at `path`.
    public init(path: String, keep: Int = 16) {
        self.path = path
        self.keep = keep
    }

    public func read<T>(_ body: (any ServeReads) throws -> T) throws -> T {
        let database = try idle.withLock { $0.popLast() } ?? Unchecked(Database(path: path))
        defer {
            idle.withLock { connections in
                if connections.count < keep { connections.append(database) }
            }
        }
        return try body(database.value)
    }
}

extension ServeStores {
    /// The SQLite store at `path`: a pool of read connections and one group-committing writer
    /// that gives up on a file import's lock after `busySeconds`.
    public static func sqlite(path: String, busySeconds: Double) throws -> ServeStores {
        ServeStores(reads: SQLiteReadPool(path: path), writes: CommittingWriter(try GroupCommitter<Database>(path: path, busySeconds: busySeconds)), databaseFile: path)
    }
}
