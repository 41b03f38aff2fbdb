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
/// row. Once it has made ``searchesBeforeTable`` searches, the partner's digests are read into
/// memory (``StoredDigestTable``) and the lookups answered there; a partner with more customers
/// than ``tableLimit``, or than the file's searches so far make worth reading, stays on the
/// cursor.
///
/// Owned by the one validating thread.
public final class StoredDigests: @unchecked Sendable {
    private let database: Database
    private let cursor: StoredRowCursor
    private var table: StoredDigestTable?
    /// The cursor's searches at which the table is tried (again).
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

    /// Searches before the digests are read into memory. A sorted file makes few (for new
    /// customers between stored ones, ids out of place), so it never pays for the table; a
    /// shuffled one reaches this within its first rows.
    public static let searchesBeforeTable = 16_384
    /// Customers at most in the table: 64 MiB of it.
    public static let tableLimit = 1 << 22

    /// Opens a second connection to the database at `path`, in a read transaction; call inside
    /// the import's write transaction. `searchesBeforeTable` and `tableLimit` are lowered by tests.
    /// - Throws: ``SQLiteError`` when the connection or its snapshot cannot be opened.
    init(path: String, partner: String, searchesBeforeTable: Int = StoredDigests.searchesBeforeTable,
         tableLimit: Int = StoredDigests.tableLimit) throws(SQLiteError) {
        database = try Database(path: path)
        self.partner = partner
        tableAttemptAt = searchesBeforeTable
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
        if table == nil && cursor.searches >= tableAttemptAt { try readTable() }
        if let table, let answer = table.lookUp(hash: idHash, digest: digest) { return answer }
        guard try cursor.move(to: externalID) else { return .differs(exists: false) }
        return cursor.digest == digest ? .sameDigest : .differs(exists: true)
    }

    /// Whether the lookups are answered from memory (for tests).
    var readsFromTable: Bool { table != nil }

    /// Reads the partner's digests into memory, unless they are more than the searches so far make
    /// worth reading: a row read in key order costs about a fifteenth of a search in no order, so
    /// reading up to 64 rows per search made costs at most about four times what the searches
    /// have. A partner with more is tried again after four times as many searches, up to
    /// ``tableLimit``.
    private func readTable() throws(SQLiteError) {
        let searches = cursor.searches
        let budget = min(tableLimit, max(1 << 20, 64 * searches))
        let scan = try database.cachedStatement("SELECT external_id, row_digest FROM customers WHERE partner = ?1")
        defer { scan.reset() }
        try scan.bind(partner, at: 1)
        table = try StoredDigestTable(scan: scan, limit: budget)
        if table == nil { tableAttemptAt = budget == tableLimit ? .max : 4 * searches }
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
