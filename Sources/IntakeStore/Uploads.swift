/// A file received over HTTP, as the client polls it.
public struct UploadRecord: Sendable, Equatable {
    /// The id given to the client (random, unguessable).
    public var id: String
    public var partner: String
    /// The name the client sent.
    public var fileName: String
    /// The name it got in the inbox (differs when that name was taken).
    public var inboxName: String
    public var dryRun: Bool
    public var size: Int64
    /// The delivered file's inode: with the name, what finds its journal entry.
    public var inode: Int64
    public var tokenName: String?
    /// The portal user who sent it from the browser (nil for the API).
    public var userEmail: String?
    public var receivedAt: String

    public init(id: String, partner: String, fileName: String, inboxName: String, dryRun: Bool, size: Int64, inode: Int64, tokenName: String?,
                userEmail: String? = nil, receivedAt: String) {
        self.inode = inode
        self.userEmail = userEmail
        self.id = id
        self.partner = partner
        self.fileName = fileName
        self.inboxName = inboxName
        self.dryRun = dryRun
        self.size = size
        self.tokenName = tokenName
        self.receivedAt = receivedAt
    }
}

/// Where an upload is on its way through the watcher.
public struct UploadProgress: Sendable, Equatable {
    public enum State: String, Sendable {
        /// In the inbox, not claimed yet (settling).
        case waiting
        /// Claimed; its import is running or will be retried.
        case importing
        /// Imported, checked, or a duplicate of an earlier import.
        case done
        /// Refused whole (no required columns, not a readable file, a limit).
        case rejected
        /// Set aside after failed attempts.
        case failed
    }

    public var state: State
    /// The import, once it started.
    public var record: ImportRecord?
    /// Why the last attempt failed, while retrying or once failed.
    public var lastError: String?

    public init(state: State, record: ImportRecord? = nil, lastError: String? = nil) {
        self.state = state
        self.record = record
        self.lastError = lastError
    }

    /// The progress of an upload whose journal entry has `journalOutcome` and `lastError`, with
    /// its import `record` once that started.
    public init(journalOutcome: String?, lastError: String?, record: ImportRecord?) {
        switch record?.status {
        case .completed?, .checked?, .duplicate?: self.init(state: .done, record: record)
        case .rejected?: self.init(state: .rejected, record: record, lastError: record?.error)
        case .running?, nil:
            let failed = journalOutcome == JournalEntry.Outcome.failed.rawValue
            self.init(state: failed ? .failed : .importing, record: record, lastError: lastError)
        }
    }
}

/// The uploads received over HTTP, and how far each got. The watcher knows nothing of them: the
/// upload's journal entry is the first claimed after it arrived with its inode (a name is not
/// enough: an earlier file of the same name may have been claimed in the same second; the inode
/// is the upload's own from before it had a name until it is archived, so no other file holds
/// it meanwhile).
public final class Uploads {
    public let database: Database

    public init(database: Database) { self.database = database }

    /// Records `upload`; call in the same transaction as nothing else, before answering 202.
    public func add(_ upload: UploadRecord) throws(SQLiteError) {
        try database.cachedStatement("""
            INSERT INTO uploads (partner, id, file_name, inbox_name, dry_run, size, token_name, received_at, inode, user_email)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
            """).run([.text(upload.partner), .text(upload.id), .text(upload.fileName), .text(upload.inboxName),
                      .integer(upload.dryRun ? 1 : 0), .integer(upload.size), SQLValue(upload.tokenName), .text(upload.receivedAt), .integer(upload.inode),
                      SQLValue(upload.userEmail)])
    }

    /// Records the name the upload got in the inbox, when it was not the one it was sent with.
    public func rename(partner: String, id: String, inboxName: String) throws(SQLiteError) {
        try database.cachedStatement("UPDATE uploads SET inbox_name = ?3 WHERE partner = ?1 AND id = ?2").run([.text(partner), .text(id), .text(inboxName)])
    }

    /// Forgets `partner`'s upload `id`, whose file never reached the inbox.
    public func remove(partner: String, id: String) throws(SQLiteError) {
        try database.cachedStatement("DELETE FROM uploads WHERE partner = ?1 AND id = ?2").run([.text(partner), .text(id)])
    }

    /// `partner`'s upload `id`; nil for another partner's.
    public func find(partner: String, id: String) throws(SQLiteError) -> UploadRecord? {
        try database.cachedStatement("""
            SELECT id, partner, file_name, inbox_name, dry_run, size, token_name, received_at, inode, user_email
            FROM uploads WHERE partner = ?1 AND id = ?2
            """).rows([.text(partner), .text(id)]).first.map {
            UploadRecord(id: $0[0] ?? "", partner: $0[1] ?? "", fileName: $0[2] ?? "", inboxName: $0[3] ?? "", dryRun: $0[4] == "1",
                         size: Int64($0[5] ?? "") ?? 0, inode: Int64($0[8] ?? "") ?? 0, tokenName: $0[6], userEmail: $0[9], receivedAt: $0[7] ?? "")
        }
    }

    /// How far `upload` got.
    public func progress(of upload: UploadRecord) throws(SQLiteError) -> UploadProgress {
        guard let entry = try database.cachedStatement("""
            SELECT step, outcome, import_id, last_error FROM journal
            WHERE partner = ?1 AND inode = ?2 AND dry_run = ?3 AND claimed_at >= ?4 ORDER BY id LIMIT 1
            """).rows([.text(upload.partner), .integer(upload.inode), .integer(upload.dryRun ? 1 : 0), .text(upload.receivedAt)]).first
        else { return UploadProgress(state: .waiting) }
        let record = try entry[2].flatMap { Int64($0) }.flatMap { id throws(SQLiteError) in try ImportLog(database: database).find(id) }
        return UploadProgress(journalOutcome: entry[1], lastError: entry[3], record: record)
    }

    /// How each of `partner`'s imports arrived: `browser` or `api` for a file sent over HTTP (its
    /// upload tied to the import's journal entry by inode, as ``progress(of:)`` does), `sftp` for
    /// any other file in the inbox (SFTP, or a folder the operator copies into).
    public func channels(partner: String, importIDs: [Int64]) throws(SQLiteError) -> [Int64: String] {
        var out: [Int64: String] = [:]
        let statement = try database.cachedStatement("""
            SELECT CASE WHEN u.user_email IS NOT NULL THEN 'browser' ELSE 'api' END
            FROM journal j JOIN uploads u ON u.partner = j.partner AND u.inode = j.inode AND u.dry_run = j.dry_run AND u.received_at <= j.claimed_at
            WHERE j.partner = ?1 AND j.import_id = ?2 ORDER BY u.received_at DESC LIMIT 1
            """)
        for id in importIDs {
            out[id] = try statement.rows([.text(partner), .integer(id)]).first?[0] ?? "sftp"
        }
        return out
    }
}
