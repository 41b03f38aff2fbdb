#if canImport(Glibc)
import Glibc
#endif

import CLibPQ

/// One libpq connection, owned here and closed when this object goes.
///
/// libpq's blocking calls fit how Intake stores a file: the storing thread is a thread of its own
/// (see the importer's RowPipeline), as with SQLite, and `COPY … FROM STDIN` streams rows without
/// a client-side buffer of the file. Values travel in PostgreSQL's text format, which is what
/// Intake's columns hold anyway.
///
/// Not thread-safe: one thread at a time, like the libpq connection itself.
public final class PostgresConnection {
    let handle: OpaquePointer

    /// Connects with a libpq connection string or URL (`postgres://user@host:port/db?sslmode=require`);
    /// anything it leaves out comes from the `PG*` environment variables and `~/.pgpass` (or
    /// `PGPASSFILE`), as for psql, except the connect timeout (10 s) and TCP keepalives, which
    /// Intake sets unless the URL does. Needs PostgreSQL 10 or later.
    /// - Throws: ``PostgresError`` with the server's or libpq's reason.
    public init(_ url: String) throws(PostgresError) {
        // A server that vanished (power loss, a partition) must not hold a node forever: connect
        // within 10 s, and let TCP keepalives give up on a silent peer within about 25 s. Listed
        // before the URL, whose own values win (libpq takes the last value of a keyword).
        let defaults = [("connect_timeout", "10"), ("keepalives", "1"), ("keepalives_idle", "10"), ("keepalives_interval", "5"),
                        ("keepalives_count", "3")]
        let keywords = (defaults.map(\.0) + ["dbname"]).map { strdup($0) } + [nil]
        let values = (defaults.map(\.1) + [url]).map { strdup($0) } + [nil]
        defer { (keywords + values).forEach { free($0) } }
        let connected = keywords.map { $0.map { UnsafePointer($0) } }.withUnsafeBufferPointer { k in
            values.map { $0.map { UnsafePointer($0) } }.withUnsafeBufferPointer { v in PQconnectdbParams(k.baseAddress, v.baseAddress, 1) }
        }
        guard let handle = connected else { throw PostgresError(message: "libpq could not allocate a connection") }
        guard PQstatus(handle) == CONNECTION_OK else {
            let error = PostgresError(result: nil, connection: handle, sql: nil)
            PQfinish(handle)
            throw error
        }
        self.handle = handle
        try configureSession()
    }

    /// The session's settings, after connecting and after a reconnect.
    ///
    /// Intake's text is UTF-8 and its timestamps are UTC text; notices (NOTICE: … already exists)
    /// would go to stderr otherwise. JIT compilation is off: an import's statements run once each
    /// over a table without statistics, whose guessed cost sets JIT off for a third of a second
    /// per statement and wins nothing back. The server-side keepalives let the server end this
    /// session, and with it the partner turns and locks it holds, soon after this node vanishes.
    private func configureSession() throws(PostgresError) {
        try execute("""
            SET client_encoding = 'UTF8'; SET client_min_messages = warning; SET TIME ZONE 'UTC'; SET jit = off;
            SET tcp_keepalives_idle = 10; SET tcp_keepalives_interval = 5; SET tcp_keepalives_count = 3
            """)
    }

    /// When the connection broke (the server restarted or failed over), connects again. Called
    /// only at points where nothing of the old session is relied on: before a node takes a
    /// partner's turn (a session lock, gone with the session) and before a lease renewal. A
    /// statement on a broken connection fails until then, so nothing runs on without the locks
    /// it was started under.
    /// - Throws: ``PostgresError`` when the server still cannot be reached or the session cannot
    ///   be set up (the connection stays broken; the next call tries again).
    public func reconnectIfBroken() throws(PostgresError) {
        guard PQstatus(handle) == CONNECTION_BAD else { return }
        PQreset(handle)
        guard PQstatus(handle) == CONNECTION_OK else { throw PostgresError(result: nil, connection: handle, sql: nil) }
        try configureSession()
    }

    deinit { PQfinish(handle) }

    /// Takes `partner`'s import lock until the transaction ends: every writer of a partner's
    /// customers (a file's import, undo, an API write) takes it, so they never interleave. Key
    /// space 1 of the two-key form (migrations use the one-key form).
    public func lockPartnerImports(_ partner: String) throws(PostgresError) {
        try query("SELECT pg_advisory_xact_lock(1, hashtext($1))", [partner])
    }

    /// The same without waiting; false when another transaction holds it.
    public func tryLockPartnerImports(_ partner: String) throws(PostgresError) -> Bool {
        try scalar("SELECT pg_try_advisory_xact_lock(1, hashtext($1))", [partner]) == "t"
    }

    /// Whether libpq knows the connection is gone (it learns so from a failed call).
    public var isBroken: Bool { PQstatus(handle) == CONNECTION_BAD }

    /// Whether `text` names a PostgreSQL server (a `postgres://` URL, or a libpq `key=value`
    /// string libpq itself accepts) rather than a SQLite file's path.
    public static func isConnectionString(_ text: String) -> Bool {
        if text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") { return true }
        guard text.contains("=") else { return false }
        var error: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(text, &error) else {
            PQfreemem(error)
            return false
        }
        PQconninfoFree(options)
        return true
    }

    /// Runs one or more statements without parameters.
    public func execute(_ sql: String) throws(PostgresError) {
        let result = PQexec(handle, sql)
        defer { PQclear(result) }
        try check(result, sql: sql)
    }

    /// Commits the open transaction. A transaction a failed statement aborted answers COMMIT
    /// with ROLLBACK, which is an error here, not a success.
    public func commit() throws(PostgresError) {
        let result = PQexec(handle, "COMMIT")
        defer { PQclear(result) }
        try check(result, sql: "COMMIT")
        guard let tag = PQcmdStatus(result), String(cString: tag) == "COMMIT" else {
            throw PostgresError(message: "the transaction was rolled back, not committed (a statement in it had failed)", sql: "COMMIT")
        }
    }

    /// Runs `sql` with `parameters` ($1, $2, … in text format; nil is NULL) and returns its rows.
    @discardableResult
    public func query(_ sql: String, _ parameters: [String?] = []) throws(PostgresError) -> [[String?]] {
        let result = try withParameters(parameters) { values in
            PQexecParams(handle, sql, Int32(values.count), nil, values, nil, nil, 0)
        }
        defer { PQclear(result) }
        try check(result, sql: sql)
        return Self.rows(of: result)
    }

    /// The first column of the first row, or nil when there is none or it is NULL.
    public func scalar(_ sql: String, _ parameters: [String?] = []) throws(PostgresError) -> String? {
        try query(sql, parameters).first?.first ?? nil
    }

    /// Runs `sql` and hands each row to `each` as it arrives (libpq's single-row mode), so a
    /// million-row answer never sits in memory at once.
    public func stream(_ sql: String, _ parameters: [String?] = [], _ each: ([String?]) throws -> Void) throws {
        let sent = try withParameters(parameters) { values in
            PQsendQueryParams(handle, sql, Int32(values.count), nil, values, nil, nil, 0)
        }
        guard sent == 1 else { throw PostgresError(result: nil, connection: handle, sql: sql) }
        // Without single-row mode every row would arrive in one result at the end: still read
        // below, only not streamed.
        _ = PQsetSingleRowMode(handle)
        var failure: (any Error)?
        // Every result must be read, even after a failure, before the connection takes another query.
        while let result = PQgetResult(handle) {
            defer { PQclear(result) }
            switch PQresultStatus(result) {
            case PGRES_SINGLE_TUPLE, PGRES_TUPLES_OK:
                for index in 0..<PQntuples(result) where failure == nil {
                    do { try each(Self.row(index, of: result)) } catch { failure = error }
                }
            case PGRES_COMMAND_OK:
                continue
            default:
                if failure == nil { failure = PostgresError(result: result, connection: handle, sql: sql) }
            }
        }
        if let failure { throw failure }
    }

    /// Starts `COPY … FROM STDIN` (text format) and returns the writer its rows go through.
    public func copyIn(_ sql: String) throws(PostgresError) -> CopyIn {
        let result = PQexec(handle, sql)
        defer { PQclear(result) }
        guard PQresultStatus(result) == PGRES_COPY_IN else { throw PostgresError(result: result, connection: handle, sql: sql) }
        return CopyIn(connection: self, sql: sql)
    }

    /// Whether no transaction is open on the connection.
    public var isIdle: Bool { PQtransactionStatus(handle) == PQTRANS_IDLE }

    /// Runs `body` in a transaction: committed when `commit` and `body` returns, rolled back when
    /// it throws (or when `commit` is false: a check or a read). `begin` may set its isolation.
    public func transaction<T>(commit: Bool = true, begin: String = "BEGIN", _ body: () throws -> T) throws -> T {
        try execute(begin)
        do {
            let value = try body()
            if commit { try self.commit() } else { try execute("ROLLBACK") }
            return value
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// Runs `body`'s reads on one snapshot: a read-only REPEATABLE READ transaction, or the
    /// transaction already open, which they join (one snapshot when it is that strict).
    public func snapshot<T>(_ body: () throws -> T) throws -> T {
        guard isIdle else { return try body() }
        return try transaction(commit: false, begin: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", body)
    }

    func check(_ result: OpaquePointer?, sql: String?) throws(PostgresError) {
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY: return
        default: throw PostgresError(result: result, connection: handle, sql: sql)
        }
    }

    private static func rows(of result: OpaquePointer?) -> [[String?]] {
        (0..<PQntuples(result)).map { row(Int32($0), of: result) }
    }

    private static func row(_ index: Int32, of result: OpaquePointer?) -> [String?] {
        (0..<PQnfields(result)).map { column in
            PQgetisnull(result, index, column) == 1 ? nil : String(cString: PQgetvalue(result, index, column))
        }
    }

    /// Calls `body` with `parameters` as C strings that live for the call.
    private func withParameters<R>(_ parameters: [String?], _ body: ([UnsafePointer<CChar>?]) -> R) throws(PostgresError) -> R {
        let copies = parameters.map { $0.flatMap { strdup($0) } }
        defer { copies.forEach { free($0) } }
        return body(copies.map { $0.map { UnsafePointer($0) } })
    }
}
