import IntakeStore

/// The PostgreSQL store: the import history and the set-based row writer on one connection.
///
/// Imports of one partner run one at a time, whichever process or node runs them: the file's
/// transaction takes a transaction-scoped advisory lock on the partner (released by its commit or
/// rollback), and different partners import in parallel.
public final class PostgresImportStore: ImportStore {
    public let connection: PostgresConnection

    /// Connects to `url` and brings the schema up to date.
    /// - Throws: ``PostgresError`` when the server cannot be reached or a migration fails.
    public init(url: String) throws(PostgresError) {
        connection = try PostgresConnection(url)
        try PostgresSchema.migrate(connection)
    }

    /// A store on `connection`, whose database another connection of this process migrated.
    init(migrated connection: PostgresConnection) {
        self.connection = connection
    }

    public func transaction<T>(commit: Bool, _ body: () throws -> T) throws -> T {
        try connection.transaction(commit: commit, body)
    }

    public func insertImport(_ record: ImportRecord) throws -> Int64 {
        let id = try connection.scalar("""
            INSERT INTO imports (partner, file_name, sha256, size, format, encoding, delimiter, sheet, status,
                                 rows_read, rows_created, rows_updated, rows_unchanged, rows_rejected,
                                 started_at, finished_at, error, result_path, rows_skipped, mode, undone_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)
            RETURNING id
            """, Self.values(record))
        guard let id, let value = Int64(id) else { throw PostgresError(message: "INSERT INTO imports returned no id") }
        return value
    }

    public func updateImport(_ record: ImportRecord) throws {
        try connection.query("""
            UPDATE imports SET format = $2, encoding = $3, delimiter = $4, sheet = $5, status = $6, rows_read = $7,
                rows_created = $8, rows_updated = $9, rows_unchanged = $10, rows_rejected = $11, finished_at = $12,
                error = $13, result_path = $14, rows_skipped = $15, mode = $16, undone_at = $17
            WHERE partner = $1 AND id = $18
            """, [record.partner, record.format, record.encoding, record.delimiter, record.sheet, record.status.rawValue,
                  String(record.rowsRead), String(record.created), String(record.updated), String(record.unchanged),
                  String(record.rejected), record.finishedAt, record.error, record.resultPath, String(record.skipped),
                  record.mode, record.undoneAt, String(record.id)])
    }

    public func removeUnfinishedImport(_ id: Int64) throws {
        try connection.query("DELETE FROM imports WHERE id = $1 AND status = 'running'", [String(id)])
    }

    public func completedImport(partner: String, sha256: String) throws -> ImportRecord? {
        try connection.query("""
            SELECT \(Self.columns) FROM imports
            WHERE partner = $1 AND sha256 = $2 AND status = 'completed' AND undone_at IS NULL ORDER BY id LIMIT 1
            """, [partner, sha256]).first.map(Self.record)
    }

    public func findImport(_ id: Int64) throws -> ImportRecord? {
        try connection.query("SELECT \(Self.columns) FROM imports WHERE id = $1", [String(id)]).first.map(Self.record)
    }

    public func pruneUndo(partner: String, finishedBefore cutoff: String, now: String) throws -> Int {
        // Under the partner's import lock: an undo never sees half a prune.
        try connection.transaction {
            try connection.lockPartnerImports(partner)
            let expired = try connection.query("""
                UPDATE imports SET undo_pruned_at = $3
                WHERE partner = $1 AND finished_at < $2 AND status = 'completed' AND undo_pruned_at IS NULL
                RETURNING id
                """, [partner, cutoff, now]).count
            try connection.query("""
                DELETE FROM customer_changes WHERE partner = $1 AND import_id IN (
                    SELECT id FROM imports WHERE partner = $1 AND finished_at < $2)
                """, [partner, cutoff])
            return expired
        }
    }

    /// File imports (not the API's single writes), newest first, below `before` when given; one
    /// partner's, or everyone's.
    public func list(partner: String?, before: Int64? = nil, limit: Int = 1000) throws(PostgresError) -> [ImportRecord] {
        try connection.query("""
            SELECT \(Self.columns) FROM imports
            WHERE ($1::text IS NULL OR partner = $1) AND source = 'file' AND ($3::bigint IS NULL OR id < $3)
            ORDER BY id DESC LIMIT $2
            """, [partner, String(limit), before.map(String.init)]).map(Self.record)
    }

    public func rowWriter(partner: String, importID: Int64, mode: ImportMode, now: String) throws -> any CustomerRowWriter {
        try connection.lockPartnerImports(partner)
        return try PostgresRowWriter(connection: connection, partner: partner, importID: importID, mode: mode, now: now)
    }

    public func prepareCommit() throws {}

    static let columns = """
        id, partner, file_name, sha256, size, format, encoding, delimiter, sheet, status, rows_read,
        rows_created, rows_updated, rows_unchanged, rows_rejected, started_at, finished_at, error, result_path,
        rows_skipped, mode, undone_at
        """

    private static func values(_ r: ImportRecord) -> [String?] {
        [
            r.partner, r.fileName, r.sha256, String(r.size), r.format, r.encoding, r.delimiter, r.sheet, r.status.rawValue,
            String(r.rowsRead), String(r.created), String(r.updated), String(r.unchanged), String(r.rejected),
            r.startedAt, r.finishedAt, r.error, r.resultPath, String(r.skipped), r.mode, r.undoneAt,
        ]
    }

    static func record(_ f: [String?]) -> ImportRecord {
        func int(_ i: Int) -> Int { Int(f[i] ?? "") ?? 0 }
        var r = ImportRecord(partner: f[1] ?? "", fileName: f[2] ?? "", sha256: f[3] ?? "", size: Int64(int(4)), startedAt: f[15] ?? "")
        r.id = Int64(int(0))
        r.format = f[5]; r.encoding = f[6]; r.delimiter = f[7]; r.sheet = f[8]
        r.status = ImportRecord.Status(rawValue: f[9] ?? "") ?? .running
        r.rowsRead = int(10); r.created = int(11); r.updated = int(12); r.unchanged = int(13); r.rejected = int(14)
        r.finishedAt = f[16]; r.error = f[17]; r.resultPath = f[18]
        r.skipped = int(19); r.mode = f[20]; r.undoneAt = f[21]
        return r
    }
}
