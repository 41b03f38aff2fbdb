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

    /// Turns triggers on or off for this connection's statements (on by default): off only for a
    /// writer whose every write leaves the triggers nothing to do (see ``CustomerWriter``).
    public func setTriggersEnabled(_ on: Bool) {
        intake_sqlite_enable_triggers(handle, on ? 1 : 0)
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

/// A value to bind to a statement parameter.
public enum SQLValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case text(String)

    /// Text, or `.null` when `text` is nil.
    public init(_ text: String?) { self = text.map(SQLValue.text) ?? .null }
}

/// The one owner of a `sqlite3_stmt*`, finalized in `deinit`.
public final class Statement {
    private let handle: OpaquePointer
    private unowned let database: Database
    public let sql: String
    /// The text bound to each parameter, owned here (index 0 unused): SQLite reads it in place
    /// (`SQLITE_STATIC`) instead of allocating, copying and freeing a buffer of its own for every
    /// value bound, which the storing thread does about ten times per row. A parameter's buffer
    /// changes only when that parameter is bound again, so SQLite's pointer stays valid for as
    /// long as it keeps the binding, across resets too. Each keeps the size of the longest text
    /// bound to its parameter (at most twice that) for as long as the statement lives.
    private var boundText: [UnsafeMutableRawBufferPointer?]
    /// Whether the statement was stepped since its last reset: until it is reset, SQLite refuses
    /// new bindings and keeps reading the old ones.
    private var stepped = false

    fileprivate init(database: Database, sql: String) throws(SQLiteError) {
        var statement: OpaquePointer?
        let rc = sqlite3_prepare_v3(database.handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard rc == SQLITE_OK, let statement else { throw SQLiteError(code: rc, connection: database.handle, sql: sql) }
        handle = statement
        self.database = database
        self.sql = sql
        boundText = Array(repeating: nil, count: Int(sqlite3_bind_parameter_count(statement)) + 1)
    }

    deinit {
        sqlite3_finalize(handle)
        for buffer in boundText { buffer?.deallocate() }
    }

    /// Binds `count` bytes at `bytes` as text to parameter `index`, copied into its own buffer.
    private func bindText(_ bytes: UnsafeRawPointer?, count: Int, at index: Int32) -> Int32 {
        // A binding SQLite would refuse (the statement stepped and not reset, a parameter it
        // lacks) must not touch the buffer it may still read: SQLite refuses it here, with its
        // own error, before a byte is overwritten or freed.
        guard !stepped, index > 0, Int(index) < boundText.count else {
            let refused = sqlite3_bind_null(handle, index)
            assert(refused != SQLITE_OK, "SQLite took a binding this statement thought it would refuse")
            return refused
        }
        var buffer = boundText[Int(index)]
        if count > buffer?.count ?? -1 {
            buffer?.deallocate()
            buffer = .allocate(byteCount: max(count, 2 * (buffer?.count ?? 0), 64), alignment: 1)
            boundText[Int(index)] = buffer
        }
        let target = buffer!.baseAddress!
        if count > 0 { target.copyMemory(from: bytes!, byteCount: count) }
        // A NULL pointer would bind SQL NULL; an empty text needs a real one.
        return sqlite3_bind_text(handle, index, target.assumingMemoryBound(to: CChar.self), Int32(count), nil)
    }

    /// Resets the statement and clears its bindings for the next use.
    public func reset() {
        rewind()
        sqlite3_clear_bindings(handle)
    }

    /// Binds `values` to parameters 1...n.
    public func bind(_ values: [SQLValue]) throws(SQLiteError) {
        for (offset, value) in values.enumerated() { try bind(value, at: Int32(offset + 1)) }
    }

    /// Binds `value` to parameter `index` (1-based); text is copied into the statement's own
    /// buffer for the parameter, so it need not outlive the call.
    /// - Throws: ``SQLiteError`` when `index` is out of range, the value is too large, or the
    ///   statement was stepped and not reset since.
    public func bind(_ value: SQLValue, at index: Int32) throws(SQLiteError) {
        let rc: Int32
        switch value {
        case .null: rc = sqlite3_bind_null(handle, index)
        case .integer(let v): rc = sqlite3_bind_int64(handle, index, v)
        case .text(var v):
            // Copied, because the Swift string's buffer is only valid for the duration of this
            // call. withUTF8 hands over the string's own bytes and length: no C-string copy, no
            // strlen (this runs several times per row).
            rc = v.withUTF8 { bindText($0.baseAddress, count: $0.count, at: index) }
        }
        guard rc == SQLITE_OK else { throw SQLiteError(code: rc, connection: database.handle, sql: sql) }
    }

    /// Binds `text` to parameter `index` (1-based), or NULL when it is nil.
    /// - Throws: ``SQLiteError`` as ``bind(_:at:)`` does for a ``SQLValue``.
    public func bind(_ text: String?, at index: Int32) throws(SQLiteError) {
        // Not through SQLValue: this runs about ten times per row of a file.
        guard var text else { return try bind(.null, at: index) }
        let rc = text.withUTF8 { bindText($0.baseAddress, count: $0.count, at: index) }
        guard rc == SQLITE_OK else { throw SQLiteError(code: rc, connection: database.handle, sql: sql) }
    }

    /// Binds UTF-8 bytes as text (NULL for nil), copied: for text made as bytes (a change
    /// record) or read as bytes (a stored row), which need not become a Swift string.
    public func bind(utf8 bytes: UnsafeBufferPointer<UInt8>?, at index: Int32) throws(SQLiteError) {
        let rc = bytes.map { bindText($0.baseAddress, count: $0.count, at: index) } ?? sqlite3_bind_null(handle, index)
        guard rc == SQLITE_OK else { throw SQLiteError(code: rc, connection: database.handle, sql: sql) }
    }

    /// ``bind(utf8:at:)-(UnsafeBufferPointer<UInt8>?,_)`` of an array's bytes.
    public func bind(utf8 bytes: [UInt8], at index: Int32) throws(SQLiteError) {
        try bytes.withUnsafeBufferPointer { (bytes) throws(SQLiteError) in try bind(utf8: bytes, at: index) }
    }

    /// Binds `value` to parameter `index` (1-based), without wrapping it in a ``SQLValue``.
    /// - Throws: ``SQLiteError`` when `index` is out of range or the statement was stepped and not
    ///   reset since.
    public func bind(_ value: Int64, at index: Int32) throws(SQLiteError) {
        let rc = sqlite3_bind_int64(handle, index, value)
        guard rc == SQLITE_OK else { throw SQLiteError(code: rc, connection: database.handle, sql: sql) }
    }

    /// Runs a statement whose parameters are bound to completion, then rewinds it keeping the
    /// bindings: for statements held across rows that rebind every parameter each time, without
    /// the cost of building an array of values or clearing bindings per row.
    public func runBound() throws(SQLiteError) {
        defer { rewind() }
        while try step() {}
    }

    /// Rewinds to before the first row, keeping the bindings.
    public func rewind() {
        sqlite3_reset(handle)
        stepped = false
    }

    /// Advances to the next row; false when done.
    @discardableResult
    public func step() throws(SQLiteError) -> Bool {
        stepped = true
        let rc = sqlite3_step(handle)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            let error = SQLiteError(code: sqlite3_extended_errcode(database.handle), connection: database.handle, sql: sql)
            rewind()
            throw error
        }
    }

    /// Binds, runs to completion, and resets: for INSERT, UPDATE and DELETE.
    public func run(_ values: [SQLValue]) throws(SQLiteError) {
        reset()
        try bind(values)
        while try step() {}
        rewind()
    }

    /// Whether `column` (0-based) of the current row is NULL.
    public func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }

    /// `column` (0-based) of the current row as an integer, converted as SQLite does (NULL gives 0).
    public func int(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }

    /// `column` (0-based) of the current row as text, nil for NULL; a number comes back in SQLite's
    /// text form.
    public func text(_ column: Int32) -> String? {
        guard let bytes = sqlite3_column_text(handle, column) else { return nil }
        let count = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
    }

    /// The length in bytes of `column` (0-based) of the current row as text; 0 for NULL.
    public func byteCount(_ column: Int32) -> Int { Int(sqlite3_column_bytes(handle, column)) }

    /// Calls `body` with the bytes of `column` (0-based) of the current row as text (empty for
    /// NULL), without making a Swift string of them; they are valid only inside `body`.
    public func withText<R>(_ column: Int32, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        let bytes = sqlite3_column_text(handle, column)
        return body(UnsafeBufferPointer(start: bytes, count: Int(sqlite3_column_bytes(handle, column))))
    }

    /// How `column` (0-based) of the current row, as text, orders against `text` in SQLite's
    /// BINARY collation (see `String.binaryOrder`), without making a Swift string of it.
    public func compareText(_ column: Int32, _ text: String) -> Int {
        let bytes = sqlite3_column_text(handle, column)
        let count = Int(sqlite3_column_bytes(handle, column))
        var text = text
        return text.withUTF8 { String.binaryOrder(UnsafeRawBufferPointer(start: bytes, count: count), UnsafeRawBufferPointer($0)) }
    }

    /// All rows as arrays of optional text: for reports and tests, not hot paths.
    public func rows(_ values: [SQLValue] = []) throws(SQLiteError) -> [[String?]] {
        reset()
        try bind(values)
        var out: [[String?]] = []
        let count = sqlite3_column_count(handle)
        while try step() { out.append((0..<count).map { text($0) }) }
        return out
    }
}
