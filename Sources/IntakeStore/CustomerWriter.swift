import CSQLite
import IntakeSystem

/// Applies one import's rows to a partner's customers, inside the import's transaction.
///
/// Per row it does the least B-tree work the outcome allows, because this is the hot loop of a
/// million-row import:
/// - a new customer is one `INSERT … ON CONFLICT DO NOTHING` (tried first when the read-ahead
///   below found no such customer, or, without one, while the file keeps bringing new ids; after
///   a conflict the writer looks up first until the next creation);
/// - an existing one is a lookup, and an `UPDATE` plus a `customer_changes` row only when the
///   merged values differ (see ``StoredComparison``); that row keeps the values the update
///   replaced;
/// - a file's row whose customer the validating thread read ahead (``CustomerUpdate/readAhead``,
///   see ``StoredDigests``) needs neither the lookup nor the first insert attempt, unless this
///   import may have written that customer already; for most such rows that thread compared
///   the values too.
///
/// A file that repeats an external_id is caught without remembering every id in memory: a row
/// this import wrote carries `updated_by_import = importID` and its `import_row`, and the rows it
/// did not write (unchanged, skipped, refused) are recorded in a temporary table. So a fresh
/// import (all created) never touches the temporary table, and memory stays flat for any size.
///
/// Creations are not logged in `customer_changes`: the customer row says which import created it,
/// and undo and history reconstruct the rest (see ``ImportHistory``). A file's updates are logged
/// 32 at a time, in one multi-row `INSERT` (the import, partner and time bound once per
/// statement), in file order; ``finish()`` writes the rest. Nothing reads `customer_changes`
/// before the file's transaction commits, and a transaction that is rolled back takes the
/// unwritten ones with it.
public final class CustomerWriter {
    public let partner: String
    public let importID: Int64
    public let mode: ImportMode
    private let database: Database
    private let now: String
    private let insert: Statement
    private let lookup: Statement
    private let merger: AttributeMerger
    private let update: Statement
    /// ``recordChangesSQL(count:)`` for one record, and for a batch of ``changeBatch``.
    private let recordChange: Statement
    private let recordChangeBatch: Statement
    /// The ids of rows left unwritten, made on first use (a fresh import, or a single API write
    /// that changes its customer, never needs it).
    private var unwrittenRows: UnwrittenRows?
    /// Whether the last row created a customer: then the next one tries the insert first.
    private var expectNew = true
    /// The customers this import updated, made on the first update: a row whose digest matches
    /// the stored one, or whose customer was read ahead, before the import began, may repeat one
    /// of them.
    private var updated: BloomFilter?
    /// Stores a row's digest on a customer whose values it leaves as they are (see
    /// ``storeDigest(_:over:)``).
    private let setDigest: Statement
    /// A file's change records not yet inserted: external_id and before (UTF-8).
    private var pendingChanges: [(externalID: String, before: [UInt8])] = []

    /// Bytes of unwritten ids held in memory before they move to a temporary table (lowered by tests).
    public var unwrittenMemoryBudget = UnwrittenRows.defaultMemoryBudget

    /// Whether this writer takes a file's rows, with CHECK constraints, foreign keys and triggers
    /// off, and so keeps track of what the file wrote (``updated``, ``unwrittenRows``) and batches
    /// its change records; a single API write does none of this.
    private let writesAFile: Bool
    /// Whether the checks may still be off, for ``finish()`` or `deinit` to turn back on.
    private var checksOff: Bool

    /// A writer for import `importID` of `partner` that stamps every change with `now` (UTC,
    /// `YYYY-MM-DD HH:MM:SS`). With `skipChecks` (a file's rows), CHECK constraints, foreign keys
    /// and triggers stay off on the connection and change records are batched until ``finish()``,
    /// which must run before the commit; a single API write keeps all three and writes its record
    /// at once.
    /// - Throws: ``SQLiteError`` when a statement or the temporary table cannot be prepared.
    public init(database: Database, partner: String, importID: Int64, mode: ImportMode, now: String, skipChecks: Bool = true) throws(SQLiteError) {
        self.database = database
        self.partner = partner
        self.importID = importID
        self.mode = mode
        self.now = now
        writesAFile = skipChecks
        checksOff = skipChecks
        // `custom_attributes` has CHECK (json_valid(...)), which parses every row's JSON again, a
        // visible share of the storing thread on a large file. The writer stores
        // JSON it built itself (JSONTests hold that JSON to SQLite's json_valid) or that
        // json_patch produced, so its statements skip CHECKs; every other writer, and this
        // connection once ``finish()`` ran, still has them enforced. SQLite re-prepares its
        // statements when the flag changes.
        // Triggers are off for the same span: the one on `customers` clears the digest of a write
        // that changes values and leaves the digest, and every write of this writer sets the
        // digest of the very row whose values it writes, so the trigger would never fire; only
        // evaluating it, per row, was a visible share of the storing thread.
        // Foreign keys are off for the same span: this writer's only references
        // (`created_by_import`, `updated_by_import`, `customer_changes.import_id`) name its own
        // import, whose row exists before the writer does. Checking them cost an `imports` lookup
        // per row, and made every `UPDATE` (a statement that could then fail after writing) first
        // copy the page it changes into SQLite's statement journal: 16 KiB per updated row,
        // written to a temporary file once the journal had outgrown its 64 KiB in memory.
        // All three are turned off last, once nothing in this initializer can throw before the
        // object exists (a throw after it exists runs `deinit`, which turns them back on).
        insert = try database.cachedStatement(Self.insertSQL)
        lookup = try database.cachedStatement(StoredRow.selectSQL)
        merger = try AttributeMerger(database: database)
        update = try database.cachedStatement(Self.updateSQL(mode: mode))
        setDigest = try database.cachedStatement("UPDATE customers SET row_digest = ?3 WHERE partner = ?1 AND external_id = ?2")
        recordChange = try database.cachedStatement(Self.recordChangesSQL(count: 1))
        recordChangeBatch = try database.cachedStatement(Self.recordChangesSQL(count: Self.changeBatch))
        if skipChecks { try database.setChecksEnforced(false) }
    }

    // Only the connection's setting: change records still pending belong to a transaction that
    // is being given up (``finish()`` was not reached).
    deinit { if checksOff { try? database.setChecksEnforced(true) } }

    /// Writes the change records still pending and turns CHECK constraints, foreign keys and
    /// triggers back on for the connection; call after the last row, before the commit.
    public func finish() throws(SQLiteError) {
        for change in pendingChanges { try recordChange(change) }
        pendingChanges.removeAll()
        if checksOff {
            try database.setChecksEnforced(true)
            checksOff = false
        }
    }

    /// Applies `customer`, read from `row` of the file, in this writer's mode. In `merge` the given
    /// fields are set and empty ones kept, and custom attributes are merged key by key with
    /// `json_patch` (RFC 7396); a row whose merge equals what is stored is `unchanged` and not written.
    public func apply(_ customer: CustomerUpdate, row: Int) throws(SQLiteError) -> UpsertResult {
        // What the validating thread read as the import began stands for the lookup, unless this
        // import may have written the customer since: created it (then the insert conflicts) or
        // updated it (the filter says maybe). Rows it left unwritten keep their stored values.
        // A single API write keeps no record of what it wrote, so it looks up.
        switch writesAFile ? customer.readAhead : nil {
        case .absent?:
            if mode == .updateOnly { return try unwritten(customer, row: row, .notFound) }
            if try insertIfNew(customer, row: row) { return .created }
        case .found(let stored)? where !mayHaveUpdated(customer):
            return try apply(customer, over: stored, row: row)
        case .compared(let stored, let comparison)? where !mayHaveUpdated(customer):
            return try apply(customer, over: stored, comparison: comparison, row: row)
        case .found?, .compared?:
            break
        case nil:
            if expectNew && mode != .updateOnly {
                if try insertIfNew(customer, row: row) { return .created }
                expectNew = false
            }
        }
        guard let stored = try StoredRow.read(lookup, partner: partner, externalID: customer.externalID) else {
            if mode == .updateOnly { return try unwritten(customer, row: row, .notFound) }
            guard try insertIfNew(customer, row: row) else {
                throw SQLiteError(code: SQLITE_INTERNAL, message: "customer \(customer.externalID) appeared between lookup and insert", sql: nil)
            }
            expectNew = true
            return .created
        }
        return try apply(customer, over: stored, row: row)
    }

    /// Applies `customer` to the customer that holds `stored`, compared already when the
    /// validating thread did it (`comparison`, in this writer's mode).
    private func apply(_ customer: CustomerUpdate, over stored: StoredRow, comparison: StoredComparison? = nil, row: Int) throws(SQLiteError) -> UpsertResult {
        if stored.updatedBy == importID {
            // Written by this import already: the file repeats the id.
            return .repeated(firstRow: Int(stored.importRow ?? 0))
        }
        switch mode {
        case .createOnly: return try unwritten(customer, row: row, .alreadyExists)
        case .skipExisting: return try unwritten(customer, row: row, .skipped)
        case .merge, .replace, .updateOnly: break
        }
        let compared: StoredComparison
        if let comparison { compared = comparison } else {
            compared = try StoredComparison(customer, with: stored, replace: mode == .replace, merger: merger)
        }
        guard case .changes(let attributes, let before) = compared else {
            try storeDigest(customer, over: stored.digest)
            return try unwritten(customer, row: row, .unchanged)
        }
        // An earlier row may have left this customer unwritten; then this one is a repeat.
        if let first = try unwrittenRows?.firstRow(of: customer.externalID, hash: customer.idHash) { return .repeated(firstRow: first) }
        try bindCustomer(update, customer.externalID, (customer.email, customer.name, customer.phone, customer.createdAt, attributes),
                         digest: customer.rowDigest, row: row)
        try update.runBound()
        let change = (externalID: customer.externalID, before: before)
        // A file's rows: the filter for rows that match a stored digest or were read ahead, and
        // batched records. An API write (one row) needs neither.
        if writesAFile {
            if updated == nil { updated = BloomFilter(bits: 1 << 24) }
            updated?.insert(hash: customer.hashOfID)
            pendingChanges.append(change)
            if pendingChanges.count == Self.changeBatch { try recordPendingChanges() }
        } else {
            try recordChange(change)
        }
        return .updated
    }

    /// Inserts one change record on its own (an API write, or what is left of a file's at the end).
    private func recordChange(_ change: (externalID: String, before: [UInt8])) throws(SQLiteError) {
        try Self.recordChanges(CollectionOfOne(change), with: recordChange, importID: importID, partner: partner, now: now)
    }

    /// Inserts a full batch of pending change records in one statement.
    private func recordPendingChanges() throws(SQLiteError) {
        try Self.recordChanges(pendingChanges, with: recordChangeBatch, importID: importID, partner: partner, now: now)
        pendingChanges.removeAll(keepingCapacity: true)
    }

    /// Inserts `customer` unless it exists; true when it was created.
    private func insertIfNew(_ customer: CustomerUpdate, row: Int) throws(SQLiteError) -> Bool {
        try bindCustomer(insert, customer.externalID, (customer.email, customer.name, customer.phone, customer.createdAt, customer.attributesJSON),
                         digest: customer.rowDigest, row: row)
        try insert.runBound()
        return database.changes == 1
    }

    /// Binds a customer's values to `insert` or `update`, which share their parameter numbers.
    private func bindCustomer(_ statement: Statement, _ externalID: String,
                              _ values: Values,
                              digest: Int64?, row: Int) throws(SQLiteError) {
        try Self.bindCustomer(statement, partner: partner, externalID, values, importID: importID, now: now, digest: digest, row: row)
    }

    /// Keeps the digest of a row that leaves its customer as it is, when the stored one differs
    /// (first re-send after this feature, an upgrade, a settings change, or values that came from
    /// elsewhere): one column of one row, written once, so the next re-send of that row passes
    /// over it (see ``StoredDigests``). The customer's values and history stay as they are.
    private func storeDigest(_ customer: CustomerUpdate, over stored: Int64?) throws(SQLiteError) {
        guard let digest = customer.rowDigest, digest != stored else { return }
        try setDigest.run([.text(partner), .text(customer.externalID), .integer(digest)])
    }

    /// A row whose digest equals the one stored with customer `externalID` before this import:
    /// unchanged, unless this import updated that customer earlier in the file (then the row
    /// repeats it; a Bloom filter of the updated ids spares the lookup for all others) or met
    /// it before and left it (``UnwrittenRows``). Customers this import created have no stored
    /// digest in that earlier view, so their repeats never come here.
    public func applySameAsStored(externalID: String, idHash: UInt64, row: Int) throws(SQLiteError) -> UpsertResult {
        assert(idHash == IDHash.of(externalID))
        if let updated, updated.mayContain(hash: idHash),
           let stored = try StoredRow.read(lookup, partner: partner, externalID: externalID), stored.updatedBy == importID {
            return .repeated(firstRow: Int(stored.importRow ?? 0))
        }
        return try unwritten(externalID, hash: idHash, row: row, .unchanged)
    }

    /// Whether this file may have updated `customer` on an earlier row.
    private func mayHaveUpdated(_ customer: CustomerUpdate) -> Bool {
        guard let updated else { return false }
        return updated.mayContain(hash: customer.hashOfID)
    }

    /// Records a row that leaves `customer` as it is, or finds the earlier row that did.
    private func unwritten(_ customer: CustomerUpdate, row: Int, _ result: UpsertResult) throws(SQLiteError) -> UpsertResult {
        try unwritten(customer.externalID, hash: customer.idHash, row: row, result)
    }

    /// Records a row that leaves customer `externalID` (of ``IDHash`` `hash`, computed when nil)
    /// as it is, or finds the earlier row that did.
    private func unwritten(_ externalID: String, hash: UInt64?, row: Int, _ result: UpsertResult) throws(SQLiteError) -> UpsertResult {
        let rows = unwrittenRows ?? UnwrittenRows(database: database, memoryBudget: unwrittenMemoryBudget)
        unwrittenRows = rows
        guard let first = try rows.insert(externalID, hash: hash, row: row) else { return result }
        return .repeated(firstRow: first)
    }
}
