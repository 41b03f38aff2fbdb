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
/// on the request's task as SQLite's reads do; a statement that runs past `statement_timeout`
/// (10 s: a hung server) fails rather than hold that thread. A connection is taken out of the
/// pool for one closure, so no two tasks ever share one; the pool grows to the requests in
/// flight and keeps `keep` for reuse. A connection the server dropped since its last use (a
/// restart, a failover) is made again and the read runs once more: reads change nothing.
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
        let reader = try idle.withLock { $0.popLast() } ?? Unchecked(try connect())
        defer {
            idle.withLock { connections in
                if connections.count < keep { connections.append(reader) }
            }
        }
        do {
            return try body(reader.value)
        } catch {
            guard reader.value.connection.isBroken else { throw error }
            try reader.value.connection.reconnectIfBroken()
            try Self.limitStatements(reader.value.connection)
            return try body(reader.value)
        }
    }

    /// A new read connection; the writer migrated the schema when the store opened.
    private func connect() throws -> PostgresServeConnection {
        let reader = try PostgresServeConnection(url: url, busySeconds: busySeconds, migrate: false)
        try Self.limitStatements(reader.connection)
        return reader
    }

    private static func limitStatements(_ connection: PostgresConnection) throws {
        try connection.execute("SET statement_timeout = '10s'")
    }
}
