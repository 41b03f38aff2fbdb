/// The HTTP side's reads and writes, and the operator's accounts, on an SQLite connection: each
/// is one of the store's own types (``CustomerStore``, ``ImportLog``, ``Uploads``, ...) over this
/// connection.
extension Database: ServeReads {
    public func tokenPrincipal(sha256: String) throws -> (APIPrincipal, storedDigest: String)? {
        try APITokens(database: self).principal(sha256: sha256)
    }

    public func customer(partner: String, externalID: String) throws -> StoredCustomer? {
        try CustomerStore(database: self, partner: partner).find(externalID)
    }

    public func customers(partner: String, after: String?, limit: Int) throws -> [StoredCustomer] {
        try CustomerStore(database: self, partner: partner).page(after: after, limit: limit)
    }

    public func fileImports(partner: String?, before: Int64?, limit: Int) throws -> [ImportRecord] {
        try ImportLog(database: self).list(partner: partner, before: before, limit: limit)
    }

    public func fileImport(partner: String, id: Int64) throws -> ImportRecord? {
        try ImportLog(database: self).findFile(partner: partner, id: id)
    }

    public func upload(partner: String, id: String) throws -> UploadRecord? {
        try Uploads(database: self).find(partner: partner, id: id)
    }

    public func progress(of upload: UploadRecord) throws -> UploadProgress {
        try Uploads(database: self).progress(of: upload)
    }

    public func channels(partner: String, importIDs: [Int64]) throws -> [Int64: String] {
        try Uploads(database: self).channels(partner: partner, importIDs: importIDs)
    }

    public func archivedFile(partner: String, importID: Int64) throws -> String? {
        try Journal(database: self).archivedFile(partner: partner, importID: importID)
    }

    public func history(partner: String, externalID: String) throws -> [ImportHistory.Entry] {
        try ImportHistory(database: self).history(partner: partner, externalID: externalID)
    }

    public func snapshot<T>(_ body: () throws -> T) throws -> T {
        // `reading` takes SQLite's errors only: those pass through it (so it rolls back), any
        // other error of `body` comes out after the read transaction ends.
        var result: Result<T, any Error>?
        try reading { () throws(SQLiteError) in
            do { result = .success(try body()) } catch let error as SQLiteError { throw error } catch { result = .failure(error) }
        }
        return try result!.get()
    }

    public func user(email: String) throws -> PortalUser? {
        try PortalAccounts(database: self).user(email: email)
    }

    public func session(sha256: String) throws -> PortalSession? {
        try PortalAccounts(database: self).session(sha256: sha256)
    }

    public func checkReadable() throws {
        _ = try scalar("SELECT count(*) FROM imports WHERE id = 0")
    }
}

extension Database: ServeWrites {
    public func writeCustomer(_ update: CustomerUpdate, mode: ImportMode, principal: APIPrincipal, request: String,
                              bytes: Int, now: String) throws -> APIWrites.Outcome {
        try APIWrites.apply(update, mode: mode, principal: principal, request: request, bytes: bytes, now: now, in: self)
    }

    public func addUpload(_ upload: UploadRecord) throws {
        try Uploads(database: self).add(upload)
    }

    public func renameUpload(partner: String, id: String, inboxName: String) throws {
        try Uploads(database: self).rename(partner: partner, id: id, inboxName: inboxName)
    }

    public func removeUpload(partner: String, id: String) throws {
        try Uploads(database: self).remove(partner: partner, id: id)
    }

    public func startSession(sha256: String, userID: Int64, csrf: String, now: String, seconds: Double) throws {
        try PortalAccounts(database: self).startSession(sha256: sha256, userID: userID, csrf: csrf, now: now, seconds: seconds)
    }

    public func touchSession(sha256: String, seconds: Double) throws {
        try PortalAccounts(database: self).touchSession(sha256: sha256, seconds: seconds)
    }

    public func endSession(sha256: String) throws {
        try PortalAccounts(database: self).endSession(sha256: sha256)
    }

    public func endSessions(idleSince seconds: Double) throws {
        try PortalAccounts(database: self).endSessions(idleSince: seconds)
    }
}

extension Database: AccountAdmin {
    public func addToken(partner: String, name: String, sha256: String, now: String) throws -> Int64 {
        try APITokens(database: self).add(partner: partner, name: name, sha256: sha256, now: now)
    }

    public func tokens(partner: String?) throws -> [APITokenRecord] {
        try APITokens(database: self).list(partner: partner)
    }

    public func revokeToken(partner: String, name: String, now: String) throws {
        try APITokens(database: self).revoke(partner: partner, name: name, now: now)
    }

    @discardableResult
    public func putUser(email: String, partner: String?, isAdmin: Bool, passwordHash: String, now: String) throws -> Bool {
        try PortalAccounts(database: self).put(email: email, partner: partner, isAdmin: isAdmin, passwordHash: passwordHash, now: now)
    }

    public func users() throws -> [PortalUser] {
        try PortalAccounts(database: self).list()
    }

    public func removeUser(email: String) throws {
        try PortalAccounts(database: self).remove(email: email)
    }
}
