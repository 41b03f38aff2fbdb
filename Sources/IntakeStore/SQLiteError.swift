import CSQLite

/// A failed SQLite call: the result code and SQLite's message, copied at once because the
/// message buffer belongs to the connection and is overwritten by its next call.
public struct SQLiteError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The extended result code (`SQLITE_CONSTRAINT_PRIMARYKEY`, `SQLITE_BUSY`, ...).
    public var code: Int32
    public var message: String
    /// The statement that failed, when there was one.
    public var sql: String?

    /// An error with a result `code` and `message`; `sql` is the statement involved, if any.
    public init(code: Int32, message: String, sql: String? = nil) {
        self.code = code
        self.message = message
        self.sql = sql
    }

    init(code: Int32, connection: OpaquePointer?, sql: String? = nil) {
        let message = connection.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(code))
        self.init(code: code, message: message, sql: sql)
    }

    /// Another connection held the write lock for longer than the busy timeout.
    public var isBusy: Bool { code & 0xFF == SQLITE_BUSY }

    public var description: String {
        let base = "SQLite error \(code): \(message)"
        guard let sql else { return base }
        return base + " (in: \(sql.prefix(120)))"
    }
}
