/// What the HTTP side (API, portal, readiness) reads, on one connection that no one else uses
/// meanwhile. Every customer and import read is scoped by partner.
public protocol ServeReads {
    /// The partner and token name of a live token with this digest, and the digest as stored
    /// (for the caller's constant-time comparison).
    func tokenPrincipal(sha256: String) throws -> (APIPrincipal, storedDigest: String)?
    func customer(partner: String, externalID: String) throws -> StoredCustomer?
    /// Up to `limit` customers after `after` in external_id order (keyset pagination).
    func customers(partner: String, after: String?, limit: Int) throws -> [StoredCustomer]
    /// File imports (not the API's single writes), newest first, below `before` when given;
    /// one partner's, or everyone's when `partner` is nil.
    func fileImports(partner: String?, before: Int64?, limit: Int) throws -> [ImportRecord]
    /// `partner`'s file import `id`; nil for another partner's or an API write.
    func fileImport(partner: String, id: Int64) throws -> ImportRecord?
    func upload(partner: String, id: String) throws -> UploadRecord?
    func progress(of upload: UploadRecord) throws -> UploadProgress
    /// How each import arrived: `browser`, `api` or `sftp`.
    func channels(partner: String, importIDs: [Int64]) throws -> [Int64: String]
    /// The archived copy of the file behind `partner`'s import `importID`.
    func archivedFile(partner: String, importID: Int64) throws -> String?
    func history(partner: String, externalID: String) throws -> [ImportHistory.Entry]
    /// Runs `body`'s reads on one snapshot of the store, so what they read agrees (a customer
    /// and its history) while files are imported meanwhile.
    func snapshot<T>(_ body: () throws -> T) throws -> T
    func user(email: String) throws -> PortalUser?
    func session(sha256: String) throws -> PortalSession?
    /// Throws when the store cannot answer a query (readiness).
    func checkReadable() throws
}

/// What the HTTP side writes, inside a transaction the store commits durably before the caller
/// is answered.
public protocol ServeWrites {
    /// Applies one customer written through the API, recorded as an import of source `api`.
    /// - Throws: ``APIWrites/Refusal`` when the partner's mode forbids it; ``StoreBusy`` when the
    ///   partner's file import held the customers past the store's bound.
    func writeCustomer(_ update: CustomerUpdate, mode: ImportMode, principal: APIPrincipal, request: String,
                       bytes: Int, now: String) throws -> APIWrites.Outcome
    func addUpload(_ upload: UploadRecord) throws
    func renameUpload(partner: String, id: String, inboxName: String) throws
    /// Forgets upload `id`, whose file never reached the inbox.
    func removeUpload(partner: String, id: String) throws
    func startSession(sha256: String, userID: Int64, csrf: String, now: String, seconds: Double) throws
    func touchSession(sha256: String, seconds: Double) throws
    func endSession(sha256: String) throws
    /// Removes sessions idle since before `seconds`.
    func endSessions(idleSince seconds: Double) throws
}

/// Connections for the HTTP side's reads.
public protocol ServeReading: Sendable {
    /// Runs `body` with a connection no one else uses meanwhile.
    func read<T: Sendable>(_ body: @escaping @Sendable (any ServeReads) throws -> T) async throws -> T
    /// Closes the idle connections and lets go of any threads; reads after it fail or reconnect.
    func shutdown()
}

/// The HTTP side's one writer: many requests' writes, each answered once durable.
public protocol ServeWriting: Sendable {
    /// Runs `body` in the next transaction and returns its value once that transaction is
    /// durable; a throw from `body` undoes its own changes only.
    func write<T: Sendable>(_ body: @escaping @Sendable (any ServeWrites) throws -> T) async throws -> T
    /// Finishes the queued writes, refuses new ones and closes the connection (blocks).
    func shutdown()
}

/// The HTTP side's store, opened by whoever chose it (SQLite here, PostgreSQL in
/// IntakeStorePostgres): the HTTP routes never see which.
public struct ServeStores: Sendable {
    public var reads: any ServeReading
    public var writes: any ServeWriting
    /// The SQLite file, whose writability readiness checks; nil for a database server.
    public var databaseFile: String?

    public init(reads: any ServeReading, writes: any ServeWriting, databaseFile: String?) {
        self.reads = reads
        self.writes = writes
        self.databaseFile = databaseFile
    }
}

/// The store stayed locked by another writer (a file import) past the bound, or too many writes
/// are waiting: the caller should try again shortly.
public struct StoreBusy: Error, Sendable, CustomStringConvertible {
    public init() {}
    public var description: String { "the store is busy (a file import holds the write lock); try again shortly" }
}

/// The writer was shut down before it could take the write.
public struct StoreStopped: Error, Sendable {
    public init() {}
}

/// API tokens and portal users as the operator's commands manage them.
public protocol AccountAdmin: AnyObject {
    /// Records a new token by its digest; returns its id.
    /// - Throws: ``APITokens/Refusal`` when the partner has a live token of that name.
    func addToken(partner: String, name: String, sha256: String, now: String) throws -> Int64
    /// Tokens of one partner, or of all, oldest first.
    func tokens(partner: String?) throws -> [APITokenRecord]
    /// - Throws: ``APITokens/Refusal`` when there is no live token of that name.
    func revokeToken(partner: String, name: String, now: String) throws
    /// Adds a user, or sets the password and partner of the one with this email (ending its
    /// sessions); true when the user is new.
    @discardableResult
    func putUser(email: String, partner: String?, isAdmin: Bool, passwordHash: String, now: String) throws -> Bool
    /// Every user, by email.
    func users() throws -> [PortalUser]
    /// - Throws: ``PortalAccounts/Refusal`` when there is no such user.
    func removeUser(email: String) throws
}
