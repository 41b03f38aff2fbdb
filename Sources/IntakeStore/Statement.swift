import CSQLite

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

    /// Prepared by ``Database/cachedStatement(_:)``, which keeps it.
    init(database: Database, sql: String) throws(SQLiteError) {
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

    /// Binds a string's UTF-8 bytes, read in place (no C-string copy, no strlen) and copied into
    /// the parameter's buffer, since that storage lives only for the call.
    private func bindText(_ text: String, at index: Int32) -> Int32 {
        text.withUTF8Bytes { bindText($0.baseAddress, count: $0.count, at: index) }
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
        case .text(let v): rc = bindText(v, at: index)
        }
        guard rc == SQLITE_OK else { throw SQLiteError(code: rc, connection: database.handle, sql: sql) }
    }

    /// Binds `text` to parameter `index` (1-based), or NULL when it is nil.
    /// - Throws: ``SQLiteError`` as ``bind(_:at:)`` does for a ``SQLValue``.
    public func bind(_ text: String?, at index: Int32) throws(SQLiteError) {
        // Not through SQLValue: this runs about ten times per row of a file.
        guard let text else { return try bind(.null, at: index) }
        let rc = bindText(text, at: index)
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
        return text.withUTF8Bytes { String.binaryOrder(UnsafeRawBufferPointer(start: bytes, count: count), UnsafeRawBufferPointer($0)) }
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
