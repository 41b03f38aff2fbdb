import CSQLite
import IntakeSystem

#if canImport(Glibc)
import Glibc
#endif

/// The floor of the edited file's database work: the very writes Intake's import of the bench's
/// edited file makes (each changed customer's `UPDATE` and its change record, 32 to an
/// `INSERT`, and the new customers' `INSERT`s, with Intake's statements, settings and values),
/// made through SQLite's C API from values built in memory beforehand (the new attributes bound
/// as they are, which is what `json_patch` gives here: the bench's edited rows change values and
/// never drop or add a key): no file read, no
/// validation, no lookup, no comparison, no workbook. Timed from the open to the close (the
/// commit's and the checkpoint's syncs included), which `intake-bench bare-writes` reports on
/// standard error for ``Bench/timed(_:)``.
///
/// So its line says what this machine's SQLite needs for the edit alone; Intake's edited import
/// is that plus reading, deciding, the result workbook and Swift's cost per row.
enum BareWrites {
    static let label = "floor: SQLite's writes of the edit"
    /// The line ``Bench/timed(_:)`` reads the time from.
    static let reportPrefix = "intake-bench: seconds "

    /// One customer's values as the edited import binds them.
    struct Values {
        var externalID: [UInt8], email: [UInt8], name: [UInt8], phone: [UInt8], createdAt: [UInt8], attributes: [UInt8]
        var row: Int64
        /// The change record of an update (the values it replaced); nil for a new customer.
        var before: [UInt8]?
    }

    /// `intake-bench bare-writes DATABASE ROWS`: the edited file's writes into DATABASE, which holds
    /// the bench's ROWS customers of partner `bench` as a fresh import left them.
    static func main(database path: String, rows: Int) throws {
        let values = prepare(rows: rows)
        let clock = SystemTime()
        let start = clock.monotonicSeconds()
        try write(values, into: path)
        let seconds = clock.monotonicSeconds() - start
        Bench.log("\(reportPrefix)\(seconds)")
    }

    /// The rows of the edited file that write: every second one of the first `rows` changed (name
    /// and balance), and `rows / 10` new ones (see ``Generate/csv(path:count:revision:changedEvery:extra:)``).
    static func prepare(rows: Int) -> [Values] {
        func attributes(_ r: Generate.Row) -> String {
            var json = JSONWriter()
            json.beginObject()
            // Intake leaves an empty cell out of the attributes.
            for (key, value) in [("city", r.city), ("tier", r.tier), ("balance", String(r.balance)), ("note", r.note)] where !value.isEmpty {
                json.member(key, value)
            }
            json.endObject()
            return json.text
        }
        var values: [Values] = []
        values.reserveCapacity(rows / 2 + rows / 10 + 1)
        for i in Array(stride(from: 0, to: rows, by: 2)) + Array(rows..<(rows + rows / 10)) {
            let new = Generate.row(i, revision: 1)
            var before: [UInt8]?
            if i < rows {
                let old = Generate.row(i)
                var json = JSONWriter()
                json.beginObject()
                json.member("name", old.name)
                json.member("custom_attributes", raw: attributes(old))
                json.member("updated_by_import", number: 1)
                json.member("updated_at", "2026-01-01 00:00:00")
                json.member("import_row", number: Int64(i + 2))
                json.endObject()
                before = json.bytes
            }
            values.append(Values(externalID: Array(String(new.id).utf8), email: Array(new.email.utf8), name: Array(new.name.utf8),
                                 phone: Array(("+" + String(new.phone)).utf8), createdAt: Array(UTC.format(new.createdAt).utf8),
                                 attributes: Array(attributes(new).utf8), row: Int64(i + 2), before: before))
        }
        return values
    }

    static func write(_ values: [Values], into path: String) throws {
        _ = intake_sqlite_configure_process()
        var handle: OpaquePointer?
        guard sqlite3_open_v2(path, &handle, SQLITE_OPEN_READWRITE, nil) == SQLITE_OK, let db = handle else { throw BenchError("cannot open \(path)") }
        func check(_ rc: Int32) throws {
            guard rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW else { throw BenchError("SQLite: \(String(cString: sqlite3_errmsg(db)))") }
        }
        func execute(_ sql: String) throws { try check(sqlite3_exec(db, sql, nil, nil, nil)) }
        func prepare(_ sql: String) throws -> OpaquePointer {
            var statement: OpaquePointer?
            try check(sqlite3_prepare_v3(db, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil))
            return statement!
        }
        func bind(_ statement: OpaquePointer, _ index: Int32, _ bytes: [UInt8]) throws {
            try check(bytes.withUnsafeBufferPointer { buffer in
                buffer.withMemoryRebound(to: CChar.self) { sqlite3_bind_text(statement, index, $0.baseAddress, Int32($0.count), intake_sqlite_transient()) }
            })
        }
        // The settings of Intake's connection (`Database`) and of its file writer (`CustomerWriter`).
        try execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA cache_size=-16384; PRAGMA ignore_check_constraints=ON")
        try execute("BEGIN IMMEDIATE")
        try execute("INSERT INTO imports (id, partner, file_name, sha256, size, status, started_at) VALUES (2, 'bench', 'edited.csv', '', 0, 'running', '2026-01-02 00:00:00')")
        let update = try prepare("""
            UPDATE customers SET email = coalesce(?3, email), name = coalesce(?4, name), phone = coalesce(?5, phone),
                                 created_at = coalesce(?6, created_at), custom_attributes = coalesce(?7, custom_attributes),
                                 updated_by_import = ?8, updated_at = ?9, import_row = ?10, row_digest = ?11
            WHERE partner = ?1 AND external_id = ?2
            """)
        let insert = try prepare("""
            INSERT INTO customers (partner, external_id, email, name, phone, created_at, custom_attributes,
                                   created_by_import, updated_by_import, updated_at, import_row, row_digest)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9, ?10, ?11)
            ON CONFLICT DO NOTHING
            """)
        let batch = 32
        let recordChanges = try prepare("""
            INSERT INTO customer_changes (import_id, partner, external_id, action, before, after, changed_at)
            VALUES \((0..<batch).map { i in "(?1, ?2, ?\(4 + 2 * i), 'updated', ?\(5 + 2 * i), NULL, ?3)" }.joined(separator: ", "))
            """)
        let partner = Array("bench".utf8), now = Array("2026-01-02 00:00:00".utf8)
        var pending: [Values] = []
        func record(_ statement: OpaquePointer, _ changes: [Values]) throws {
            try check(sqlite3_bind_int64(statement, 1, 2))
            try bind(statement, 2, partner)
            try bind(statement, 3, now)
            for (i, change) in changes.enumerated() {
                try bind(statement, Int32(4 + 2 * i), change.externalID)
                try bind(statement, Int32(5 + 2 * i), change.before!)
            }
            try check(sqlite3_step(statement))
            sqlite3_reset(statement)
        }
        for value in values {
            let statement = value.before == nil ? insert : update
            try bind(statement, 1, partner)
            try bind(statement, 2, value.externalID)
            try bind(statement, 3, value.email)
            try bind(statement, 4, value.name)
            try bind(statement, 5, value.phone)
            try bind(statement, 6, value.createdAt)
            try bind(statement, 7, value.attributes)
            try check(sqlite3_bind_int64(statement, 8, 2))
            try bind(statement, 9, now)
            try check(sqlite3_bind_int64(statement, 10, value.row))
            try check(sqlite3_bind_int64(statement, 11, value.row &* 0x1F1F_1F1F_1F1F))
            try check(sqlite3_step(statement))
            sqlite3_reset(statement)
            guard value.before != nil else { continue }
            pending.append(value)
            if pending.count == batch {
                try record(recordChanges, pending)
                pending.removeAll(keepingCapacity: true)
            }
        }
        let recordChange = try prepare("""
            INSERT INTO customer_changes (import_id, partner, external_id, action, before, after, changed_at)
            VALUES (?1, ?2, ?4, 'updated', ?5, NULL, ?3)
            """)
        for change in pending { try record(recordChange, [change]) }
        for statement in [update, insert, recordChanges, recordChange] { sqlite3_finalize(statement) }
        try execute("PRAGMA ignore_check_constraints=OFF")
        try execute("UPDATE imports SET status = 'completed', finished_at = '2026-01-02 00:00:09' WHERE id = 2")
        try execute("COMMIT")
        try check(sqlite3_close(db))
    }
}
