/// The row digests stored with one partner's customers as they were when the import's write
/// transaction began, for the validating thread to pass over rows sent again unchanged.
///
/// A customer's `row_digest` is the digest of the file row whose write gave it its stored values
/// (see `RowDigester` in IntakeImport: the row's cells, the header, the partner's mode and
/// rules, Intake's version, keyed with this database's secret). Merge and replace are
/// idempotent: a row applied to the values it produced gives them again. So a row whose digest
/// equals the stored one is unchanged, exactly, without being validated or compared field by
/// field. Every other write of a customer (the API, an undo) stores NULL, which matches nothing.
///
/// This connection reads in a transaction begun after the import took the write lock, so it sees
/// every committed write and no other writer can commit until the import ends; the import's own
/// writes it does not see, and ``CustomerWriter`` catches a row that repeats a customer the
/// file changed earlier.
///
/// A row whose digest differs gets what its customer held instead (or that it had none), read
/// once the row passed validation (``StoredRow``) from where the lookup left the cursor
/// (``StoredRowCursor``, which walks the table in key order along with the file's ids); the
/// writer then compares with that and need not look the customer up itself, which takes a
/// B-tree search and the copying of a row off the storing thread, the one that bounds an edited
/// file. It is exact for the same reason: until the import's own writes, the snapshot is what
/// the writer would read.
///
/// A file whose ids do not follow the table's order makes the cursor search for nearly every
/// row, each search in a large table reading a page from the operating system's cache. Once
/// ``idsBehindBeforeTable`` ids came behind the cursor, the partner's digests are read into
/// memory (``StoredDigestTable``), which answers the rows sent unchanged; the others still ask
/// the cursor. A partner with more customers than ``tableLimit``, or than that disorder so far
/// makes worth reading, stays on the cursor. The table is kept until the import ends.
///
/// Owned by the one validating thread.
public final class StoredDigests: @unchecked Sendable {
    private let database: Database
    private let cursor: StoredRowCursor
    private var table: StoredDigestTable?
    /// The count of ids behind the cursor at which the table is tried (again).
    private var tableAttemptAt: Int
    private let tableLimit: Int
    private let read: Statement
    private let merger: AttributeMerger
    private let partner: String
    /// The database's secret the digests are keyed with.
    public let key: String
    /// Whether the partner had no customers yet (a first file): then no row can match, and the
    /// lookups are skipped.
    public let isEmpty: Bool

    /// Ids behind the cursor before the digests are read into memory. A sorted file makes
    /// almost none, sparse or not, so it stays on the cursor, where its lookups are steps or
    /// searches near the last; a shuffled one reaches this within its first rows.
    public static let idsBehindBeforeTable = 16_384
    /// Customers at most read into the table: 32 MiB of it.
    public static let tableLimit = 1 << 22

    /// Opens a second connection to the database at `path`, in a read transaction; call inside
    /// the import's write transaction. `idsBehindBeforeTable` and `tableLimit` are lowered by tests.
    /// - Throws: ``SQLiteError`` when the connection or its snapshot cannot be opened.
    init(path: String, partner: String, idsBehindBeforeTable: Int = StoredDigests.idsBehindBeforeTable,
         tableLimit: Int = StoredDigests.tableLimit) throws(SQLiteError) {
        database = try Database(path: path)
        self.partner = partner
        tableAttemptAt = idsBehindBeforeTable
        self.tableLimit = tableLimit
        // Lookups of ids in the file's order touch each page of the partner's customers about
        // once when the file is sorted; the operating system's cache serves them, so this
        // connection keeps few pages of its own (the importing connection's cache is the one
        // that matters).
        try database.execute("PRAGMA cache_size=-2048")
        try database.execute("BEGIN")
        // The first read fixes the snapshot.
        guard let key = try database.cachedStatement("SELECT value FROM intake_meta WHERE key = 'row_digest_key'").rows().first?[0] ?? nil else {
            throw SQLiteError(code: 1 /* SQLITE_ERROR */, message: "the database has no row digest key (intake_meta)")
        }
        self.key = key
        isEmpty = try database.cachedStatement("SELECT 1 FROM customers WHERE partner = ?1 LIMIT 1").rows([.text(partner)]).isEmpty
        // The cursor follows the file's ids through the table; a row whose digest differs reads
        // its customer where the cursor stands, and only a lookup the cursor no longer stands on
        // searches again.
        cursor = try StoredRowCursor(database: database, partner: partner)
        read = try database.cachedStatement(StoredRow.selectSQL)
        merger = try AttributeMerger(database: database)
    }

    deinit { try? database.execute("ROLLBACK") }

    /// What customer `externalID` held as the import began, compared with a row of digest `digest`.
    public enum Lookup: Sendable, Equatable {
        /// The stored digest is `digest`: the row is unchanged.
        case sameDigest
        /// It is not, or there is no such customer (`exists` false).
        case differs(exists: Bool)
    }

    /// Looks customer `externalID` (whose ``IDHash`` is `idHash`) up for a row of digest `digest`.
    public func lookUp(_ externalID: String, idHash: UInt64, digest: Int64) throws(SQLiteError) -> Lookup {
        if table == nil && cursor.idsBehind >= tableAttemptAt { try readTable() }
        // A row the table does not know with this digest is changed or new: the cursor says which.
        if let table, table.contains(idHash: idHash, digest: digest) { return .sameDigest }
        guard try cursor.move(to: externalID) else { return .differs(exists: false) }
        return cursor.digest == digest ? .sameDigest : .differs(exists: true)
    }

    /// Whether the lookups are answered from memory; read by another thread only after the
    /// last lookup (the validating thread's last one happens before it sends the end of the rows).
    public var readsFromTable: Bool { table != nil }

    /// The cursor's searches for ids behind it (for tests).
    var idsBehind: Int { cursor.idsBehind }

    /// Reads the partner's digests into memory, unless they are more than the disorder so far
    /// makes worth reading. An id behind the cursor costs two searches in no order (its own and
    /// the next row's), each about fifteen times a row read in key order, and the table reads
    /// each row twice; so reading up to 32 rows per such id (at least a million) costs about
    /// twice what its searches did. A partner with more customers is tried again, from the
    /// start, after four times as many such ids, up to ``tableLimit``: all the tries of a file
    /// cost at most about three times what it searched.
    private func readTable() throws(SQLiteError) {
        let behind = cursor.idsBehind
        let budget = min(tableLimit, max(1 << 20, 32 * behind))
        let scan = try database.cachedStatement("SELECT external_id, row_digest FROM customers WHERE partner = ?1")
        defer { scan.reset() }
        try scan.bind(partner, at: 1)
        table = try StoredDigestTable(scan: scan, limit: budget)
        if table == nil { tableAttemptAt = budget == tableLimit ? .max : max(4 * behind, behind + 1) }
    }

    /// Customer `externalID`'s stored row as the import began, read after its row passed
    /// validation (a rejected row needs none); nil when there is none. Read where the cursor
    /// stands when it stands on that customer (after ``lookUp(_:idHash:digest:)`` of the same id),
    /// searched for otherwise.
    public func storedRow(of externalID: String) throws(SQLiteError) -> StoredRow? {
        if cursor.isOn(externalID) { return cursor.row }
        return try StoredRow.read(read, partner: partner, externalID: externalID)
    }

    /// How `update` compares with `stored` in `mode` (merge, replace or update-only), worked out
    /// as the writer would (see ``StoredComparison``), with this connection's `json_patch`.
    public func compare(_ update: CustomerUpdate, with stored: StoredRow, mode: ImportMode) throws(SQLiteError) -> StoredComparison {
        try StoredComparison(update, with: stored, replace: mode == .replace, merger: merger)
    }
}
