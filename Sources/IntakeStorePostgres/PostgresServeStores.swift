import IntakeStore
import IntakeSystem
import Synchronization

/// The HTTP side on PostgreSQL: a pool of read connections and one group-committing writer, the
/// shape of the SQLite store's (``SQLiteReadPool`` and ``GroupCommitter``).
public enum PostgresServeStores {
    /// Connects the writer now, so a wrong URL or an unreachable server fails at start.
    /// - Throws: ``PostgresError`` when the server cannot be reached or the schema not migrated.
    /// Reads fail after `readTimeoutSeconds` each (PostgreSQL's `statement_timeout`).
    public static func open(url: String, busySeconds: Double, readTimeoutSeconds: Double = 10) throws -> ServeStores {
        let writer = try PostgresServeConnection(url: url, busySeconds: busySeconds)
        return ServeStores(reads: PostgresReadPool(url: url, busySeconds: busySeconds, timeoutSeconds: readTimeoutSeconds),
                           writes: CommittingWriter(GroupCommitter(connection: writer)), databaseFile: nil)
    }
}

/// Read connections, each used by one read at a time, on threads of their own.
///
/// libpq blocks for a round trip, and a network or a server can be slow: on the request's task
/// that would hold a cooperative thread (a handful per process) and stall every request and
/// timer of the service. So reads run on `threads` dedicated threads, and a request waits for
/// one without holding anything. That also bounds the connections this node opens for reads
/// to `threads`, whatever the load (PostgreSQL's `max_connections` is shared by every node).
/// A statement that runs past `statement_timeout` (`http.read_timeout_seconds`, 10 s: a hung
/// server, a long lock) fails rather than hold its thread. A connection the server dropped since
/// its last use (a restart, a failover) is made again and the read runs once more: reads change
/// nothing.
final class PostgresReadPool: ServeReading {
    private let url: String
    private let busySeconds: Double
    private let timeoutMilliseconds: Int
    private let threads: BlockingThreads
    private let idle = Mutex<[Unchecked<PostgresServeConnection>]>([])

    init(url: String, busySeconds: Double, timeoutSeconds: Double, threads: Int = 8) {
        self.url = url
        self.busySeconds = busySeconds
        timeoutMilliseconds = Int(timeoutSeconds * 1000)
        self.threads = BlockingThreads(count: threads)
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (any ServeReads) throws -> T) async throws -> T {
        try await threads.run { [self] in try readNow(body) }
    }

    /// Runs `body` on this thread with an idle connection, or a new one. At most one connection
    /// per thread is ever out, so the idle list never holds more than the threads.
    private func readNow<T>(_ body: (any ServeReads) throws -> T) throws -> T {
        let reader = try idle.withLock { $0.popLast() } ?? Unchecked(try connect())
        defer {
            // A read that left its transaction open (or aborted) must not hand it to the next.
            if !reader.value.connection.isIdle { try? reader.value.connection.execute("ROLLBACK") }
            idle.withLock { $0.append(reader) }
        }
        do {
            return try body(reader.value)
        } catch {
            guard reader.value.connection.isBroken else { throw error }
            try reader.value.connection.reconnectIfBroken()
            try limitStatements(reader.value.connection)
            return try body(reader.value)
        }
    }

    func shutdown() {
        threads.shutdown()
        idle.withLock { $0.removeAll() }
    }

    /// A new read connection; the writer migrated the schema when the store opened.
    private func connect() throws -> PostgresServeConnection {
        let reader = try PostgresServeConnection(url: url, busySeconds: busySeconds, migrate: false)
        try limitStatements(reader.connection)
        return reader
    }

    private func limitStatements(_ connection: PostgresConnection) throws {
        try connection.execute("SET statement_timeout = \(timeoutMilliseconds)")
    }
}
