import CSQLite
import IntakeSystem

#if canImport(Glibc)
import Glibc
#endif

/// The one owner of a `sqlite3*` connection.
///
/// Configured for durability: WAL (readers such as analysts never block the importer), and
/// `synchronous=FULL` so a committed import survives a power loss, not just a crash.
///
/// Not `Sendable`: a connection and its statements are used by one thread at a time. Each
/// process or task that writes opens its own connection; SQLite's locking serializes writers.
public final class Database {
    let handle: OpaquePointer
    public let path: String
    private var statements: [String: Statement] = [:]

    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    /// - Throws: ``SQLiteError`` when the file cannot be opened or migrated.
    public init(path: String) throws(SQLiteError) {
        _ = Self.processConfiguration
        var db: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let error = SQLiteError(code: rc, connection: db)
            sqlite3_close_v2(db)
            throw error
        }
        handle = db
        self.path = path
        sqlite3_extended_result_codes(db, 1)
        intake_sqlite_disable_dqs(db)
        // Another process (the daemon, an analyst, a second `intake import`) may hold the write
        // lock for a while; wait for it rather than fail.
        sqlite3_busy_timeout(db, 60_000)
        // 16 KiB pages for a new database (SQLite ignores this for an existing one, whose page
        // size only a VACUUM outside WAL mode could change): an import is one file-sized
        // transaction, and a quarter as many pages means a quarter as many WAL frames, each of
        // which straddles file-system blocks; the kernel spent most of the storing thread's
        // system time zeroing those partial blocks.
        try execute("PRAGMA page_size=\(Self.newDatabasePageSize)")
        try execute("PRAGMA journal_mode=WAL")
        try execute("PRAGMA synchronous=FULL")
        try execute("PRAGMA foreign_keys=ON")
        // A file is one transaction; a 16 MiB page cache (SQLite's default is 2 MiB) keeps a file
        // of tens of thousands of rows from spilling to the WAL before its commit. A larger file
        // spills whatever the cache, in page order, so a larger cache would only cost memory.
        try execute("PRAGMA cache_size=-16384")
        try Schema.migrate(self)
    }

    /// The page size a database created by Intake gets.
    public static let newDatabasePageSize = 16_384

    /// Process-wide settings, applied once before the first connection (SQLite refuses them after
    /// it has initialized; a static's initializer runs exactly once, thread-safely).
    private static let processConfiguration: Void = { _ = intake_sqlite_configure_process() }()

    deinit {
        statements.removeAll()
        sqlite3_close_v2(handle)
    }

    /// Runs one or more statements that return no rows.
    public func execute(_ sql: String) throws(SQLiteError) {
        var message: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &message)
        if rc != SQLITE_OK {
            let text = message.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(rc))
            sqlite3_free(message)
            throw SQLiteError(code: rc, message: text, sql: sql)
        }
    }

    /// Writes the open transaction's dirty pages to the WAL without committing (the commit then
    /// has less to write); see `sqlite3_db_cacheflush`.
    public func flushCache() throws(SQLiteError) {
        let rc = sqlite3_db_cacheflush(handle)
        guard rc == SQLITE_OK else { throw SQLiteError(code: rc, connection: handle) }
    }

    /// Turns CHECK constraints, foreign keys and triggers on or off for this connection's
    /// statements (on by default): off only for the span of a writer whose every write satisfies
    /// them and leaves the triggers nothing to do (see ``CustomerWriter``). Works inside a
    /// transaction; the schema has no deferred foreign keys, whose counts this could upset.
    public func setChecksEnforced(_ on: Bool) throws(SQLiteError) {
        intake_sqlite_enforce_triggers_and_foreign_keys(handle, on ? 1 : 0)
        try execute("PRAGMA ignore_check_constraints = \(on ? "OFF" : "ON")")
    }

    /// Writes the WAL's pages to disk now (`fsync` on a descriptor of its own), after
    /// ``flushCache()``, while the result workbook is being compressed: the commit's own fsync
    /// then finds only its last frames to write, and the wait moves off the file's critical path.
    /// Not the commit's durability, which SQLite's fsync at the commit still gives.
    ///
    /// - Returns: whether a WAL file was synced; false when there is none (an in-memory or
    ///   non-WAL database) or it could not be opened or synced, which is left to the commit.
    @discardableResult
    public func syncWALAhead() -> Bool {
        guard let main = sqlite3_db_filename(handle, "main"), let walName = sqlite3_filename_wal(main), walName.pointee != 0 else { return false }
        guard let wal = try? FileDescriptor(opening: String(cString: walName)) else { return false }
        return (try? wal.sync()) != nil
    }

    /// The connection's one prepared statement for `sql`, reset and ready to bind, prepared on
    /// first use so hot loops never re-prepare (as GRDB's `cachedStatement`).
    ///
    /// Shared: a second call with the same SQL returns the same statement, reset. A caller that
    /// keeps stepping one while calling code that may use the same SQL gets its rows cut short,
    /// so statements are held only within one function.
    public func cachedStatement(_ sql: String) throws(SQLiteError) -> Statement {
        if let cached = statements[sql] {
            cached.reset()
            return cached
        }
        let statement = try Statement(database: self, sql: sql)
        statements[sql] = statement
        return statement
    }

    /// Runs `body` in a transaction that takes the write lock at once (`BEGIN IMMEDIATE`), so
    /// the import never fails half-way on a lock upgrade; commits if `body` returns, rolls back
    /// if it throws.
    ///
    /// - Parameter commit: false rolls the transaction back even when `body` returns: a dry run
    ///   does all the work of an import, reads its own writes, and leaves nothing behind.
    public func transaction<T>(commit: Bool = true, _ body: () throws -> T) throws -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let value = try body()
            try execute(commit ? "COMMIT" : "ROLLBACK")
            return value
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// Runs `body`'s reads on one snapshot of the database: in a read transaction of its own, or
    /// in the transaction already open on this connection.
    public func reading<T>(_ body: () throws(SQLiteError) -> T) throws(SQLiteError) -> T {
        guard sqlite3_get_autocommit(handle) != 0 else { return try body() }
        try execute("BEGIN")
        do {
            let value = try body()
            try execute("COMMIT")
            return value
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// How long a statement waits for another connection's write lock before it fails with
    /// `SQLITE_BUSY` (60 s unless changed).
    public func setBusyTimeout(seconds: Double) {
        sqlite3_busy_timeout(handle, Int32(max(0, min(seconds, 86_400)) * 1000))
    }

    /// Rows changed by the last INSERT, UPDATE or DELETE.
    public var changes: Int { Int(sqlite3_changes(handle)) }

    /// The rowid of the last INSERT.
    public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// The first column of the first row of `sql`, as an integer.
    public func scalar(_ sql: String, _ bindings: [SQLValue] = []) throws(SQLiteError) -> Int64? {
        let statement = try cachedStatement(sql)
        // Reset at once: a statement left mid-result keeps its read transaction open, which pins
        // this connection to an old snapshot and stops WAL checkpoints.
        defer { statement.reset() }
        try statement.bind(bindings)
        guard try statement.step() else { return nil }
        return statement.isNull(0) ? nil : statement.int(0)
    }
}
