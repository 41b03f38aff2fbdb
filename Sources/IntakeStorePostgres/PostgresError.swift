import CLibPQ
import IntakeStore

/// A failed libpq call: PostgreSQL's message and SQLSTATE, copied at once because the result or
/// connection that holds them is freed or reused by the next call.
public struct PostgresError: StoreError, Sendable, Equatable {
    /// The five-character SQLSTATE (`23505` unique violation, `40P01` deadlock, ...); empty when
    /// the failure was the connection's, not a statement's.
    public var sqlState: String
    public var message: String
    /// The statement that failed, when there was one.
    public var sql: String?

    /// SQLSTATE of a duplicate key.
    public static let uniqueViolation = "23505"
    /// SQLSTATE of a lock not granted within `lock_timeout`.
    public static let lockNotAvailable = "55P03"

    public init(sqlState: String = "", message: String, sql: String? = nil) {
        self.sqlState = sqlState
        self.message = message
        self.sql = sql
    }

    /// The error of `result`, or of `connection` when there is no result.
    init(result: OpaquePointer?, connection: OpaquePointer?, sql: String?) {
        var state = ""
        var text = ""
        if let result {
            if let code = PQresultErrorField(result, Int32(UInt8(ascii: "C"))) { state = String(cString: code) }
            if let message = PQresultErrorMessage(result) { text = String(cString: message) }
        }
        if text.isEmpty, let connection, let message = PQerrorMessage(connection) { text = String(cString: message) }
        self.init(sqlState: state, message: text.trimmingTrailingWhitespace(), sql: sql)
    }

    public var description: String {
        let base = "PostgreSQL error\(sqlState.isEmpty ? "" : " \(sqlState)"): \(message)"
        guard let sql else { return base }
        return base + " (in: \(sql.prefix(120)))"
    }
}

extension String {
    func trimmingTrailingWhitespace() -> String {
        var s = Substring(self)
        while let last = s.last, last.isWhitespace { s = s.dropLast() }
        return String(s)
    }
}
