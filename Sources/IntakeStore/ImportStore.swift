/// A store's own typed error (PostgreSQL's), which the importer reports as it is. ``SQLiteError``
/// keeps a case of its own in the importer's failures.
public protocol StoreError: Error, CustomStringConvertible {}

/// What the importer needs from a database, so one importer runs on SQLite (the embedded
/// default) and on PostgreSQL (the shared store) without knowing which.
///
/// A file is one transaction: ``transaction(commit:_:)`` wraps its `imports` record and every
/// customer it writes. Errors are the store's own typed errors (``SQLiteError``, the PostgreSQL
/// module's `PostgresError`), passed through as they are.
public protocol ImportStore: AnyObject {
    /// Runs `body` in one transaction, committed when `commit` and `body` returns, rolled back
    /// otherwise.
    func transaction<T>(commit: Bool, _ body: () throws -> T) throws -> T
    /// Inserts `record` into the import history and returns its new id.
    func insertImport(_ record: ImportRecord) throws -> Int64
    /// Writes what changes after the insert (the file's format, the status, the counts, when it
    /// finished, the error, the result, undo) over the history row with its id; what identifies
    /// the file (partner, name, SHA-256, size, start) stays as inserted.
    func updateImport(_ record: ImportRecord) throws
    /// Removes import `id` if it never finished (a check stopped part-way).
    func removeUnfinishedImport(_ id: Int64) throws
    /// The first completed import of this content for `partner`, if any.
    func completedImport(partner: String, sha256: String) throws -> ImportRecord?
    /// One import by id.
    func findImport(_ id: Int64) throws -> ImportRecord?
    /// Drops the undo data of `partner`'s imports finished before `cutoff` (UTC text); returns
    /// how many imports expired now.
    func pruneUndo(partner: String, finishedBefore cutoff: String, now: String) throws -> Int
    /// A writer of import `importID`'s rows, inside the running transaction.
    func rowWriter(partner: String, importID: Int64, mode: ImportMode, now: String) throws -> any CustomerRowWriter
    /// Work that may overlap the result workbook's compression before the commit (SQLite moves
    /// its dirty pages to the WAL and syncs it).
    func prepareCommit() throws
    /// The stored row digests of `partner`'s customers (and their rows where a digest differs),
    /// read on a connection of their own, when this store keeps them (SQLite's row-by-row
    /// writer); call inside the import's transaction.
    func storedDigests(partner: String) throws -> StoredDigests?
}

extension ImportStore {
    public func storedDigests(partner: String) throws -> StoredDigests? { nil }
}

/// Applies one file's rows to a partner's customers.
///
/// A store decides each row's verdict either at once (SQLite: a lookup, or the stored row read
/// ahead with the row's digest, and a write per row) or
/// after the last row (PostgreSQL: the rows go in with `COPY` and one set-based upsert decides them
/// all). A deferring store is handed the rejected rows too, so ``finishRows(checkpoint:_:)`` gives back every
/// row in the file's order and the result workbook stays in that order.
public protocol CustomerRowWriter: AnyObject {
    /// Whether verdicts come only from ``finishRows(checkpoint:_:)``.
    var defersVerdicts: Bool { get }
    /// Takes the customer of file row `row` (`shownID` is its id as the file wrote it, for the
    /// result; `cells` a deferring store gives back if it rejects the row); returns its verdict,
    /// or nil when it comes later.
    func take(_ customer: CustomerUpdate, row: Int, shownID: String, cells: [String]) throws -> UpsertResult?
    /// Takes file row `row` whose digest equals customer `externalID`'s stored one (see
    /// ``StoredDigests``; `idHash` is the id's ``IDHash``): unchanged, unless the file changed or
    /// met that customer before.
    func takeSameAsStored(externalID: String, idHash: UInt64, row: Int) throws -> UpsertResult
    /// Takes a row that failed validation (deferring stores only), to give it back in order.
    func reject(row: Int, externalID: String, message: String, cells: [String]) throws
    /// After the last row and before the commit: the deferred verdicts in row order (none from a
    /// store that does not defer), then what the writer still holds (SQLite's last change
    /// records) and whatever it must undo on its connection. A store with long work here
    /// calls `checkpoint` between its steps, which throws to stop the import (a shutdown, a
    /// time limit).
    func finishRows(checkpoint: () throws -> Void, _ each: (DeferredVerdict) throws -> Void) throws
}

/// A row's verdict given after the file's last row.
public struct DeferredVerdict: Sendable {
    public var row: Int
    /// The id as the file wrote it, for the result's line.
    public var externalID: String
    /// The id as stored (trimmed), for the row's message.
    public var storedID: String
    /// What the store did, or why the row was rejected before it; with the row's cells where the
    /// row was rejected.
    public var outcome: Outcome

    public enum Outcome: Sendable {
        case stored(UpsertResult, cells: [String])
        case rejected(message: String, cells: [String])
    }

    public init(row: Int, externalID: String, storedID: String? = nil, outcome: Outcome) {
        self.row = row
        self.externalID = externalID
        self.storedID = storedID ?? externalID
        self.outcome = outcome
    }
}

/// The SQLite store: the import history and ``CustomerWriter`` on one ``Database``.
public final class SQLiteImportStore: ImportStore {
    public let database: Database
    private let log: ImportLog

    public init(database: Database) {
        self.database = database
        self.log = ImportLog(database: database)
    }

    public func transaction<T>(commit: Bool, _ body: () throws -> T) throws -> T {
        try database.transaction(commit: commit, body)
    }

    public func insertImport(_ record: ImportRecord) throws -> Int64 { try log.insert(record) }
    public func updateImport(_ record: ImportRecord) throws { try log.update(record) }
    public func removeUnfinishedImport(_ id: Int64) throws { try log.remove(unfinished: id) }
    public func completedImport(partner: String, sha256: String) throws -> ImportRecord? {
        try log.completedImport(partner: partner, sha256: sha256)
    }
    public func findImport(_ id: Int64) throws -> ImportRecord? { try log.find(id) }
    public func pruneUndo(partner: String, finishedBefore cutoff: String, now: String) throws -> Int {
        try ImportHistory(database: database).prune(partner: partner, finishedBefore: cutoff, now: now)
    }

    public func rowWriter(partner: String, importID: Int64, mode: ImportMode, now: String) throws -> any CustomerRowWriter {
        try CustomerWriter(database: database, partner: partner, importID: importID, mode: mode, now: now)
    }

    public func prepareCommit() throws {
        try database.flushCache()
        database.syncWALAhead()
    }

    public func storedDigests(partner: String) throws -> StoredDigests? {
        // A second connection sees the same database only through a file.
        guard !database.path.isEmpty, database.path != ":memory:" else { return nil }
        return try StoredDigests(path: database.path, partner: partner)
    }
}

extension CustomerWriter: CustomerRowWriter {
    public var defersVerdicts: Bool { false }

    public func take(_ customer: CustomerUpdate, row: Int, shownID: String, cells: [String]) throws -> UpsertResult? {
        try apply(customer, row: row)
    }

    public func takeSameAsStored(externalID: String, idHash: UInt64, row: Int) throws -> UpsertResult {
        try applySameAsStored(externalID: externalID, idHash: idHash, row: row)
    }

    public func reject(row: Int, externalID: String, message: String, cells: [String]) throws {}

    public func finishRows(checkpoint: () throws -> Void, _ each: (DeferredVerdict) throws -> Void) throws { try finish() }
}
