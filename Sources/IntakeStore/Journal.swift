/// The watcher's journal: every file it claimed and the last step that file completed.
///
/// Steps, each safe to repeat after a crash:
/// `claimed` (moved out of the inbox into the processing area) → `imported` (its import, or its
/// rejection, committed; recorded in the same transaction as the import) → `result_written` (the
/// result workbook is in the outbox) → `archived` (the file is in the archive; done).
public struct JournalEntry: Sendable, Equatable {
    /// The last step an entry completed.
    public enum Step: String, Sendable { case claimed, imported, resultWritten = "result_written", archived }

    /// Which archive a file goes to once its import (or rejection) committed.
    public enum Outcome: String, Sendable {
        /// Imported, checked, or a duplicate of an earlier import: nothing went wrong.
        case processed
        /// Rejected whole, refused, lost or set aside after too many attempts.
        case failed
    }

    public var id: Int64
    public var partner: String
    public var fileName: String
    public var processingPath: String
    public var sha256: String?
    public var size: Int64?
    public var step: Step
    public var attempts: Int
    public var importID: Int64?
    /// Known once the import committed.
    public var outcome: Outcome?
    public var archivePath: String?
    /// A file dropped in `inbox/check/`: validated and matched, nothing changed.
    public var dryRun = false
    /// Tries of this entry that failed inside the running service, and why the last one did.
    public var failures = 0
    public var lastError: String?

    public init(id: Int64, partner: String, fileName: String, processingPath: String, sha256: String?, size: Int64?, step: Step,
                attempts: Int, importID: Int64?, outcome: Outcome?, archivePath: String?, dryRun: Bool = false, failures: Int = 0,
                lastError: String? = nil) {
        self.id = id
        self.partner = partner
        self.fileName = fileName
        self.processingPath = processingPath
        self.sha256 = sha256
        self.size = size
        self.step = step
        self.attempts = attempts
        self.importID = importID
        self.outcome = outcome
        self.archivePath = archivePath
        self.dryRun = dryRun
        self.failures = failures
        self.lastError = lastError
    }
}

/// The journal's table, one method per step, each a single statement that is safe to repeat.
public final class Journal {
    public let database: Database

    /// The journal kept in `database`.
    public init(database: Database) { self.database = database }

    /// Records a file just claimed into `processingPath`; `inode` is the file's, which ties an
    /// upload received over HTTP to its entry (see ``Uploads``).
    public func claimed(partner: String, fileName: String, processingPath: String, dryRun: Bool = false, inode: Int64? = nil, now: String) throws(SQLiteError) -> Int64 {
        try database.cachedStatement("""
            INSERT INTO journal (partner, file_name, processing_path, step, dry_run, claimed_at, updated_at, inode)
            VALUES (?1, ?2, ?3, 'claimed', ?5, ?4, ?4, ?6)
            """).run([.text(partner), .text(fileName), .text(processingPath), .text(now), .integer(dryRun ? 1 : 0), inode.map { .integer($0) } ?? .null])
        return database.lastInsertRowID
    }

    /// Counts one more attempt at importing entry `id`; committed before the attempt starts, so a
    /// crash during it is counted.
    public func beginAttempt(_ id: Int64, now: String) throws(SQLiteError) -> Int {
        try database.cachedStatement("UPDATE journal SET attempts = attempts + 1, updated_at = ?2 WHERE id = ?1").run([.integer(id), .text(now)])
        return Int(try database.scalar("SELECT attempts FROM journal WHERE id = ?1", [.integer(id)]) ?? 0)
    }

    /// Records that a try at entry `id` failed with `error` (a disk, database or report failure,
    /// not bad input); returns how many tries have failed so far. `takingBackAttempt`: the try
    /// was an import attempt (``beginAttempt(_:now:)``), which a failure does not count as a
    /// crash; in the same statement, so the two are recorded together or not at all.
    @discardableResult
    public func failed(_ id: Int64, error: String, takingBackAttempt: Bool = false, now: String) throws(SQLiteError) -> Int {
        try database.cachedStatement("""
            UPDATE journal SET failures = failures + 1, last_error = ?2, updated_at = ?3,
                attempts = CASE WHEN ?4 THEN max(attempts - 1, 0) ELSE attempts END
            WHERE id = ?1
            """).run([.integer(id), .text(error), .text(now), .integer(takingBackAttempt ? 1 : 0)])
        return Int(try database.scalar("SELECT failures FROM journal WHERE id = ?1", [.integer(id)]) ?? 0)
    }

    /// Takes back an attempt that was abandoned cleanly (shutdown), so it does not count as a crash.
    public func abandonAttempt(_ id: Int64, now: String) throws(SQLiteError) {
        try database.cachedStatement("UPDATE journal SET attempts = max(attempts - 1, 0), updated_at = ?2 WHERE id = ?1").run([.integer(id), .text(now)])
    }

    /// Marks entry `id` imported; call inside the import's transaction.
    public func imported(_ id: Int64, importID: Int64, sha256: String, size: Int64, outcome: JournalEntry.Outcome, now: String) throws(SQLiteError) {
        try database.cachedStatement("""
            UPDATE journal SET step = 'imported', import_id = ?2, sha256 = ?3, size = ?4, outcome = ?5, updated_at = ?6 WHERE id = ?1
            """).run([.integer(id), .integer(importID), .text(sha256), .integer(size), .text(outcome.rawValue), .text(now)])
    }

    /// Records that entry `id` completed `step` (and where it was archived, for the last one).
    public func advance(_ id: Int64, to step: JournalEntry.Step, archivePath: String? = nil, now: String) throws(SQLiteError) {
        try database.cachedStatement("""
            UPDATE journal SET step = ?2, archive_path = coalesce(?3, archive_path), updated_at = ?4 WHERE id = ?1
            """).run([.integer(id), .text(step.rawValue), SQLValue(archivePath), .text(now)])
    }

    /// Entries not yet archived, oldest first.
    public func unfinished() throws(SQLiteError) -> [JournalEntry] {
        try entries("WHERE step != 'archived' ORDER BY id", [])
    }

    /// Entry `id`, as it is now.
    public func entry(_ id: Int64) throws(SQLiteError) -> JournalEntry? {
        try entries("WHERE id = ?1", [.integer(id)]).first
    }

    /// Where `partner`'s file of import `importID` was archived, once it was.
    public func archivedFile(partner: String, importID: Int64) throws(SQLiteError) -> String? {
        try database.cachedStatement("SELECT archive_path FROM journal WHERE partner = ?1 AND import_id = ?2 AND archive_path IS NOT NULL ORDER BY id DESC LIMIT 1")
            .rows([.text(partner), .integer(importID)]).first?[0] ?? nil
    }

    /// Whether any entry, finished or not, has this processing path.
    public func knows(processingPath: String) throws(SQLiteError) -> Bool {
        try database.scalar("SELECT 1 FROM journal WHERE processing_path = ?1", [.text(processingPath)]) != nil
    }

    /// The entries `clause` selects; its values are bound, never pasted, so the statement cache
    /// holds one statement per clause.
    private func entries(_ clause: StaticString, _ bindings: [SQLValue]) throws(SQLiteError) -> [JournalEntry] {
        let statement = try database.cachedStatement("""
            SELECT id, partner, file_name, processing_path, sha256, size, step, attempts, import_id, outcome, archive_path, dry_run,
                   failures, last_error
            FROM journal \(clause)
            """)
        try statement.bind(bindings)
        var out: [JournalEntry] = []
        while try statement.step() {
            out.append(JournalEntry(
                id: statement.int(0), partner: statement.text(1) ?? "", fileName: statement.text(2) ?? "",
                processingPath: statement.text(3) ?? "", sha256: statement.text(4), size: statement.isNull(5) ? nil : statement.int(5),
                step: JournalEntry.Step(rawValue: statement.text(6) ?? "") ?? .claimed, attempts: Int(statement.int(7)),
                importID: statement.isNull(8) ? nil : statement.int(8), outcome: statement.text(9).flatMap(JournalEntry.Outcome.init(rawValue:)), archivePath: statement.text(10),
                dryRun: statement.int(11) != 0, failures: Int(statement.int(12)), lastError: statement.text(13)
            ))
        }
        statement.reset()
        return out
    }
}
