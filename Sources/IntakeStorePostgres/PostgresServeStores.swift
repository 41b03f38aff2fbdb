import IntakeStore
import IntakeSystem
import Synchronization

/// The HTTP side on PostgreSQL: a pool of read connections and one group-committing writer, the
/// shape of the SQLite store's (``SQLiteReadPool`` and ``GroupCommitter``).
public enum PostgresServeStores {
    /// Connects the writer now, so a wrong URL or an unreachable server fails at start.
    /// - Throws: ``PostgresError`` when the server cannot be reached or the schema not migrated.
    public static func open(url: String, busySeconds: Double) throws -> ServeStores {
        let writer = try PostgresServeConnection(url: url, busySeconds: busySeconds)
        return ServeStores(reads: PostgresReadPool(url: url, busySeconds: busySeconds),
                           writes: CommittingWriter(GroupCommitter(connection: writer)), databaseFile: nil)
    }
}

/// Read connections, one per request in flight. A read is one or two indexed statements, a round
/// trip of well under a millisecond on the network an operator runs PostgreSQL on, so it runs
/// on the request's task as SQLite's reads do; a connection is taken out of the pool for one
/// closure, so no two tasks ever share one. A connection the server dropped is made again when
/// next taken.
final class PostgresReadPool: ServeReading {
    private let url: String
    private let busySeconds: Double
    private let keep: Int
    private let idle = Mutex<[Unchecked<PostgresServeConnection>]>([])

    init(url: String, busySeconds: Double, keep: Int = 16) {
        self.url = url
        self.busySeconds = busySeconds
        self.keep = keep
    }

    func read<T>(_ body: (any ServeReads) throws -> T) throws -> T {
        let reader: Unchecked<PostgresServeConnection>
        if let pooled = idle.withLock({ $0.popLast() }) {
            try pooled.value.connection.reconnectIfBroken()
            reader = pooled
        } else {
            reader = Unchecked(try PostgresServeConnection(url: url, busySeconds: busySeconds))
        }
        defer {
            idle.withLock { connections in
                if connections.count < keep { connections.append(reader) }
            }
        }
        return try body(reader.value)
    }
}
