/// One row of the `imports` table.
public struct ImportRecord: Sendable, Equatable {
    /// Where an import stands: `running` until it ends, then `completed`, `rejected` (the whole file),
    /// `duplicate` (content already imported) or `checked` (a dry run that changed nothing).
    public enum Status: String, Sendable { case running, completed, rejected, duplicate, checked }

    public var id: Int64 = 0
    public var partner: String
    public var fileName: String
    public var sha256: String
    public var size: Int64
    public var format: String?
    public var encoding: String?
    public var delimiter: String?
    public var sheet: String?
    public var status: Status = .running
    public var rowsRead = 0
    public var created = 0
    public var updated = 0
    public var unchanged = 0
    public var rejected = 0
    public var skipped = 0
    public var startedAt: String
    public var finishedAt: String?
    public var error: String?
    public var resultPath: String?
    public var mode: String?
    public var undoneAt: String?

    /// A `running` import with no counts yet; its id stays 0 until set from what
    /// ``ImportLog/insert(_:)`` returns.
    public init(partner: String, fileName: String, sha256: String, size: Int64, startedAt: String) {
        self.partner = partner
        self.fileName = fileName
        self.sha256 = sha256
        self.size = size
        self.startedAt = startedAt
    }
}

/// The import history: one row per file.
public final class ImportLog {
    public let database: Database

    /// The import history kept in `database`.
    public init(database: Database) { self.database = database }

    /// Inserts `record` and returns its new id.
    public func insert(_ record: ImportRecord) throws(SQLiteError) -> Int64 {
        try database.cachedStatement("""
            INSERT INTO imports (partner, file_name, sha256, size, format, encoding, delimiter, sheet, status,
                                 rows_read, rows_created, rows_updated, rows_unchanged, rows_rejected,
                                 started_at, finished_at, error, result_path, rows_skipped, mode, undone_at)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)
            """).run(Self.values(record))
        return database.lastInsertRowID
    }

    /// Writes the fields of `record` that change after its insert over the row with its id.
    ///
    /// What identifies the file (partner, name, SHA-256, size, start) stays as inserted: a column
    /// in the `SET` list makes SQLite rewrite every index that holds it, even to the same value,
    /// and an import's index pages, dirtied by its insert and spilled to the WAL early in a large
    /// file's transaction, would then be written over at its end, which makes SQLite recompute
    /// the checksum of every WAL frame after them at the commit.
    public func update(_ record: ImportRecord) throws(SQLiteError) {
        let r = record
        try database.cachedStatement("""
            UPDATE imports SET format = ?1, encoding = ?2, delimiter = ?3, sheet = ?4, status = ?5, rows_read = ?6,
                rows_created = ?7, rows_updated = ?8, rows_unchanged = ?9, rows_rejected = ?10, finished_at = ?11,
                error = ?12, result_path = ?13, rows_skipped = ?14, mode = ?15, undone_at = ?16
            WHERE id = ?17
            """).run([
                SQLValue(r.format), SQLValue(r.encoding), SQLValue(r.delimiter), SQLValue(r.sheet), .text(r.status.rawValue),
                .integer(Int64(r.rowsRead)), .integer(Int64(r.created)), .integer(Int64(r.updated)), .integer(Int64(r.unchanged)),
                .integer(Int64(r.rejected)), SQLValue(r.finishedAt), SQLValue(r.error), SQLValue(r.resultPath),
                .integer(Int64(r.skipped)), SQLValue(r.mode), SQLValue(r.undoneAt), .integer(r.id),
            ])
    }

    private static func values(_ r: ImportRecord) -> [SQLValue] {
        [
            .text(r.partner), .text(r.fileName), .text(r.sha256), .integer(r.size), SQLValue(r.format), SQLValue(r.encoding),
            SQLValue(r.delimiter), SQLValue(r.sheet), .text(r.status.rawValue), .integer(Int64(r.rowsRead)),
            .integer(Int64(r.created)), .integer(Int64(r.updated)), .integer(Int64(r.unchanged)), .integer(Int64(r.rejected)),
            .text(r.startedAt), SQLValue(r.finishedAt), SQLValue(r.error), SQLValue(r.resultPath),
            .integer(Int64(r.skipped)), SQLValue(r.mode), SQLValue(r.undoneAt),
        ]
    }

    /// Removes import `id` if it never finished (a check that was stopped part-way); a finished
    /// import's record is history and stays.
    public func remove(unfinished id: Int64) throws(SQLiteError) {
        try database.cachedStatement("DELETE FROM imports WHERE id = ?1 AND status = 'running'").run([.integer(id)])
    }

    /// File imports (not the API's single writes), newest first; one partner's, or everyone's
    /// when `partner` is nil; only those older than import `before` when it is given.
    public func list(partner: String?, before: Int64? = nil, limit: Int = 1000) throws(SQLiteError) -> [ImportRecord] {
        let statement = try database.cachedStatement("""
            SELECT id, partner, file_name, sha256, size, format, encoding, delimiter, sheet, status, rows_read,
                   rows_created, rows_updated, rows_unchanged, rows_rejected, started_at, finished_at, error, result_path,
                   rows_skipped, mode, undone_at
            FROM imports WHERE (?1 IS NULL OR partner = ?1) AND source = 'file' AND (?3 IS NULL OR id < ?3)
            ORDER BY id DESC LIMIT ?2
            """)
        try statement.bind([SQLValue(partner), .integer(Int64(limit)), before.map { .integer($0) } ?? .null])
        var out: [ImportRecord] = []
        while try statement.step() { out.append(Self.record(statement)) }
        statement.reset()
        return out
    }

    /// The first completed import of this content for the partner that still stands, if any: an
    /// undone import no longer does, so the same file sent again is imported again.
    public func completedImport(partner: String, sha256: String) throws(SQLiteError) -> ImportRecord? {
        guard let id = try database.scalar(
            "SELECT min(id) FROM imports WHERE partner = ?1 AND sha256 = ?2 AND status = 'completed' AND undone_at IS NULL", [.text(partner), .text(sha256)]
        ) else { return nil }
        return try find(id)
    }

    /// Partner `partner`'s file import `id` (not an API change, not another partner's).
    public func findFile(partner: String, id: Int64) throws(SQLiteError) -> ImportRecord? {
        guard try database.scalar("SELECT 1 FROM imports WHERE id = ?1 AND partner = ?2 AND source = 'file'", [.integer(id), .text(partner)]) != nil else {
            return nil
        }
        return try find(id)
    }

    /// One import by id.
    public func find(_ id: Int64) throws(SQLiteError) -> ImportRecord? {
        let statement = try database.cachedStatement("""
            SELECT id, partner, file_name, sha256, size, format, encoding, delimiter, sheet, status, rows_read,
                   rows_created, rows_updated, rows_unchanged, rows_rejected, started_at, finished_at, error, result_path,
                   rows_skipped, mode, undone_at
            FROM imports WHERE id = ?1
            """)
        try statement.bind([.integer(id)])
        defer { statement.reset() }
        return try statement.step() ? Self.record(statement) : nil
    }

    private static func record(_ s: Statement) -> ImportRecord {
        var r = ImportRecord(partner: s.text(1) ?? "", fileName: s.text(2) ?? "", sha256: s.text(3) ?? "", size: s.int(4), startedAt: s.text(15) ?? "")
        r.id = s.int(0)
        r.format = s.text(5); r.encoding = s.text(6); r.delimiter = s.text(7); r.sheet = s.text(8)
        r.status = ImportRecord.Status(rawValue: s.text(9) ?? "") ?? .running
        r.rowsRead = Int(s.int(10)); r.created = Int(s.int(11)); r.updated = Int(s.int(12))
        r.unchanged = Int(s.int(13)); r.rejected = Int(s.int(14))
        r.finishedAt = s.text(16); r.error = s.text(17); r.resultPath = s.text(18)
        r.skipped = Int(s.int(19)); r.mode = s.text(20); r.undoneAt = s.text(21)
        return r
    }
}
