import IntakeStore

/// The watcher's journal in PostgreSQL, shared by every node on one data root.
///
/// It uses the import store's connection: ``imported(_:importID:sha256:size:outcome:now:)`` must
/// commit with the import. Besides the steps it arbitrates between nodes:
/// - a node reserves an inbox file (a `claims` row, unique per partner, name and inode) before
///   moving it; the reservation ends in the statement that records the journal entry, and one
///   held by a node whose lease ran out can be taken;
/// - a partner's files are driven by the node holding that partner's session advisory lock, in
///   journal order; the lock goes with the node's connection if the node dies;
/// - an entry is marked imported only from `claimed`, in the import's transaction, so a second
///   node that somehow imported the same file rolls its import back.
public final class PostgresJournal: JournalStore {
    let connection: PostgresConnection
    /// This node's id, as in `nodes`.
    public let node: String

    public var sharedByNodes: Bool { true }

    public init(store: PostgresImportStore, node: String) {
        connection = store.connection
        self.node = node
    }

    /// The reservation key of an inbox file: its name, under `check/` for a check.
    static func inboxName(_ fileName: String, check: Bool) -> String { check ? "check/" + fileName : fileName }

    public func claimed(partner: String, fileName: String, processingPath: String, dryRun: Bool, inode: Int64?, now: String) throws -> Int64 {
        let id = try connection.scalar("""
            WITH reservation AS (DELETE FROM claims WHERE partner = $1 AND inbox_name = $7 AND inode = $6::bigint)
            INSERT INTO journal (partner, file_name, processing_path, step, dry_run, claimed_at, updated_at, inode, node)
            VALUES ($1, $2, $3, 'claimed', $5::boolean, $4, $4, $6::bigint, $8)
            RETURNING id
            """, [partner, fileName, processingPath, now, dryRun ? "true" : "false", inode.map(String.init),
                  Self.inboxName(fileName, check: dryRun), node])
        guard let id, let value = Int64(id) else { throw PostgresError(message: "INSERT INTO journal returned no id") }
        return value
    }

    public func beginAttempt(_ id: Int64, now: String) throws -> Int {
        Int(try connection.scalar("UPDATE journal SET attempts = attempts + 1, updated_at = $2, node = $3 WHERE id = $1 RETURNING attempts",
                                  [String(id), now, node]) ?? "") ?? 0
    }

    @discardableResult
    public func failed(_ id: Int64, error: String, takingBackAttempt: Bool, now: String) throws -> Int {
        Int(try connection.scalar("""
            UPDATE journal SET failures = failures + 1, last_error = $2, updated_at = $3,
                attempts = CASE WHEN $4::boolean THEN greatest(attempts - 1, 0) ELSE attempts END
            WHERE id = $1 RETURNING failures
            """, [String(id), error, now, takingBackAttempt ? "true" : "false"]) ?? "") ?? 0
    }

    public func abandonAttempt(_ id: Int64, now: String) throws {
        try connection.query("UPDATE journal SET attempts = greatest(attempts - 1, 0), updated_at = $2 WHERE id = $1", [String(id), now])
    }

    public func imported(_ id: Int64, importID: Int64, sha256: String, size: Int64, outcome: JournalEntry.Outcome, now: String) throws {
        let marked = try connection.query("""
            UPDATE journal SET step = 'imported', import_id = $2, sha256 = $3, size = $4, outcome = $5, updated_at = $6, node = $7
            WHERE id = $1 AND step = 'claimed' RETURNING id
            """, [String(id), String(importID), sha256, String(size), outcome.rawValue, now, node])
        guard !marked.isEmpty else {
            throw PostgresError(message: "journal entry \(id) is no longer waiting for its import (another node imported it); this import is rolled back")
        }
    }

    public func advance(_ id: Int64, to step: JournalEntry.Step, archivePath: String?, now: String) throws {
        try connection.query("UPDATE journal SET step = $2, archive_path = coalesce($3, archive_path), updated_at = $4 WHERE id = $1",
                             [String(id), step.rawValue, archivePath, now])
    }

    public func unfinished() throws -> [JournalEntry] {
        try entries("WHERE step <> 'archived' ORDER BY id", [])
    }

    public func entry(_ id: Int64) throws -> JournalEntry? {
        try entries("WHERE id = $1", [String(id)]).first
    }

    public func knows(processingPath: String, partner: String, inode: Int64?) throws -> Bool {
        // One statement, one snapshot: a node that records its entry (and ends its reservation)
        // meanwhile is seen by one half or the other.
        try connection.scalar("""
            SELECT EXISTS (SELECT 1 FROM journal WHERE processing_path = $1)
                OR EXISTS (SELECT 1 FROM claims c JOIN nodes n ON n.id = c.node
                           WHERE c.partner = $2 AND c.inode = $3::bigint AND n.lease_until > now())
            """, [processingPath, partner, inode.map(String.init)]) == "t"
    }

    public func reserve(partner: String, fileName: String, check: Bool, inode: Int64) throws -> Bool {
        try !connection.query("""
            INSERT INTO claims (partner, inbox_name, inode, node) VALUES ($1, $2, $3::bigint, $4)
            ON CONFLICT (partner, inbox_name, inode) DO UPDATE SET node = excluded.node, claimed_at = now()
            WHERE claims.node = excluded.node
               OR NOT EXISTS (SELECT 1 FROM nodes n WHERE n.id = claims.node AND n.lease_until > now())
            RETURNING node
            """, [partner, Self.inboxName(fileName, check: check), String(inode), node]).isEmpty
    }

    public func release(partner: String, fileName: String, check: Bool, inode: Int64) throws {
        try connection.query("DELETE FROM claims WHERE partner = $1 AND inbox_name = $2 AND inode = $3::bigint AND node = $4",
                             [partner, Self.inboxName(fileName, check: check), String(inode), node])
    }

    public func withPartnerTurn(_ partner: String, _ body: () -> Void) throws -> Bool {
        // A connection that broke since is made again here, and only here in the watcher: the
        // turn is a session lock, so work under it never outlives the session that holds it.
        try connection.reconnectIfBroken()
        // Key space 2 of the two-key form: "driving this partner's files".
        guard try connection.scalar("SELECT pg_try_advisory_lock(2, hashtext($1))", [partner]) == "t" else { return false }
        defer { _ = try? connection.query("SELECT pg_advisory_unlock(2, hashtext($1))", [partner]) }
        body()
        return true
    }

    private func entries(_ clause: String, _ parameters: [String?]) throws -> [JournalEntry] {
        try connection.query("""
            SELECT id, partner, file_name, processing_path, sha256, size, step, attempts, import_id, outcome, archive_path, dry_run,
                   failures, last_error
            FROM journal \(clause)
            """, parameters).map { f in
            JournalEntry(
                id: Int64(f[0] ?? "") ?? 0, partner: f[1] ?? "", fileName: f[2] ?? "", processingPath: f[3] ?? "",
                sha256: f[4], size: f[5].flatMap { Int64($0) }, step: JournalEntry.Step(rawValue: f[6] ?? "") ?? .claimed,
                attempts: Int(f[7] ?? "") ?? 0, importID: f[8].flatMap { Int64($0) },
                outcome: f[9].flatMap(JournalEntry.Outcome.init(rawValue:)), archivePath: f[10], dryRun: f[11] == "t",
                failures: Int(f[12] ?? "") ?? 0, lastError: f[13])
        }
    }
}
