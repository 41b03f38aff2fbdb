/// The watcher's journal as a store keeps it: SQLite (``Journal``, one node) or PostgreSQL
/// (several nodes on one data root). Each step is one statement, safe to repeat after a crash;
/// ``imported(_:importID:sha256:size:outcome:now:)`` runs inside the import's transaction.
///
/// A journal shared by several nodes also arbitrates between them: an inbox file is reserved
/// before it is moved (``reserve(partner:fileName:check:inode:)``), and a partner's files are driven
/// by one node at a time, in claim order (``withPartnerTurn(_:_:)``).
public protocol JournalStore: AnyObject {
    /// Whether other nodes share this journal (and so the reservations and turns matter).
    var sharedByNodes: Bool { get }

    /// Records a file just claimed into `processingPath` (its reservation, if any, ends with it).
    func claimed(partner: String, fileName: String, processingPath: String, dryRun: Bool, inode: Int64?, now: String) throws -> Int64
    func beginAttempt(_ id: Int64, now: String) throws -> Int
    @discardableResult
    func failed(_ id: Int64, error: String, takingBackAttempt: Bool, now: String) throws -> Int
    func abandonAttempt(_ id: Int64, now: String) throws
    func imported(_ id: Int64, importID: Int64, sha256: String, size: Int64, outcome: JournalEntry.Outcome, now: String) throws
    func advance(_ id: Int64, to step: JournalEntry.Step, archivePath: String?, now: String) throws
    /// Entries not yet archived, oldest first.
    func unfinished() throws -> [JournalEntry]
    func entry(_ id: Int64) throws -> JournalEntry?
    /// Whether the file at `processingPath` (of `partner`, with `inode`) has an entry, or is
    /// reserved by a live node that is about to record it.
    func knows(processingPath: String, partner: String, inode: Int64?) throws -> Bool

    /// Reserves an inbox file for this node before it is moved; false when a live node holds it.
    func reserve(partner: String, fileName: String, check: Bool, inode: Int64) throws -> Bool
    /// Drops a reservation whose move did not happen.
    func release(partner: String, fileName: String, check: Bool, inode: Int64) throws
    /// Runs `body` while this node has `partner`'s turn; false (and `body` not run) when another
    /// node has it, which then drives the partner's files itself.
    func withPartnerTurn(_ partner: String, _ body: () -> Void) throws -> Bool
}

extension Journal: JournalStore {
    public var sharedByNodes: Bool { false }

    public func knows(processingPath: String, partner: String, inode: Int64?) throws -> Bool {
        try knows(processingPath: processingPath)
    }

    public func reserve(partner: String, fileName: String, check: Bool, inode: Int64) throws -> Bool { true }
    public func release(partner: String, fileName: String, check: Bool, inode: Int64) throws {}
    public func withPartnerTurn(_ partner: String, _ body: () -> Void) throws -> Bool {
        body()
        return true
    }
}

/// Undo and history as a store keeps them: SQLite (``ImportHistory``) or PostgreSQL.
public protocol HistoryStore: AnyObject {
    /// Undoes import `id` in one transaction (see ``ImportHistory/undo(_:force:now:)``); throws
    /// ``ImportHistory/Refusal`` when it may not.
    func undo(_ id: Int64, force: Bool, now: String) throws -> ImportHistory.UndoReport
    /// Every retained change to one customer, oldest first.
    func history(partner: String, externalID: String) throws -> [ImportHistory.Entry]
}

extension ImportHistory: HistoryStore {}
