import IntakeStore
import IntakeSystem

/// The floor of the edited file's database work: the very writes Intake's import of the bench's
/// edited file makes (each changed customer's `UPDATE` and its change record, 32 to an
/// `INSERT`, and the new customers' `INSERT`s), with Intake's connection and the file writer's
/// statements and setting, driven directly from values built in memory beforehand (the new
/// attributes bound as they are, which is what `json_patch` gives here: the bench's edited rows
/// change values and never drop or add a key): no file read, no validation, no lookup, no
/// comparison, no workbook. Timed from the open to the close (the
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
        var externalID: String, email: String, name: String, phone: String, createdAt: String, attributes: String
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
            values.append(Values(externalID: String(new.id), email: new.email, name: new.name, phone: "+" + String(new.phone),
                                 createdAt: UTC.format(new.createdAt), attributes: attributes(new), row: Int64(i + 2), before: before))
        }
        return values
    }

    /// Intake's own connection (`Database`: its pragmas, its statement wrapper) and the file
    /// writer's statements and setting (`CustomerWriter`), driven directly.
    static func write(_ values: [Values], into path: String) throws {
        let database = try Database(path: path)
        try database.setChecksEnforced(false)
        try database.transaction {
            try database.execute("INSERT INTO imports (id, partner, file_name, sha256, size, status, started_at) VALUES (2, 'bench', 'edited.csv', '', 0, 'running', '2026-01-02 00:00:00')")
            let update = try database.cachedStatement(CustomerWriter.updateSQL(mode: .merge))
            let insert = try database.cachedStatement(CustomerWriter.insertSQL)
            let recordChanges = try database.cachedStatement(CustomerWriter.recordChangesSQL(count: CustomerWriter.changeBatch))
            let partner = "bench", now = "2026-01-02 00:00:00", importID: Int64 = 2
            var pending: [(externalID: String, before: [UInt8])] = []
            for value in values {
                let statement = value.before == nil ? insert : update
                try CustomerWriter.bindCustomer(statement, partner: partner, value.externalID,
                                                (value.email, value.name, value.phone, value.createdAt, value.attributes),
                                                importID: importID, now: now, digest: value.row &* 0x1F1F_1F1F_1F1F, row: Int(value.row))
                try statement.runBound()
                guard let before = value.before else { continue }
                pending.append((value.externalID, before))
                guard pending.count == CustomerWriter.changeBatch else { continue }
                try CustomerWriter.recordChanges(pending, with: recordChanges, importID: importID, partner: partner, now: now)
                pending.removeAll(keepingCapacity: true)
            }
            let recordChange = try database.cachedStatement(CustomerWriter.recordChangesSQL(count: 1))
            for change in pending {
                try CustomerWriter.recordChanges(CollectionOfOne(change), with: recordChange, importID: importID, partner: partner, now: now)
            }
            try database.setChecksEnforced(true)
            try database.execute("UPDATE imports SET status = 'completed', finished_at = '2026-01-02 00:00:09' WHERE id = 2")
        }
        // The connection closes as `database` goes, here, inside the timed part: the checkpoint.
    }
}
