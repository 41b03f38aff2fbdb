import IntakeStore

/// One PostgreSQL connection of the HTTP side: what the API and the portal read, and (on the
/// writer's connection) what they write. The same answers as SQLite's, statement for statement;
/// every customer and import statement is scoped by partner.
public final class PostgresServeConnection: ServeReads {
    let store: PostgresImportStore
    var connection: PostgresConnection { store.connection }
    /// How long a batch of writes waits for partners' file imports, in all, before answering "busy".
    let busySeconds: Double
    /// The writer's batch in progress: when its waiting for partner locks must end, and the
    /// partners whose lock it could not get (their next writes in the batch are busy at once).
    var batchDeadline = 0.0
    var busyPartners: Set<String> = []

    /// Connects to `url`; `migrate` brings the schema up to date (the first connection of a
    /// process does; the others find it done).
    public init(url: String, busySeconds: Double, migrate: Bool = true) throws(PostgresError) {
        store = migrate ? try PostgresImportStore(url: url) : PostgresImportStore(migrated: try PostgresConnection(url))
        self.busySeconds = busySeconds
    }

    public func tokenPrincipal(sha256: String) throws -> (APIPrincipal, storedDigest: String)? {
        try connection.query("SELECT partner, name, sha256 FROM api_tokens WHERE sha256 = $1 AND revoked_at IS NULL", [sha256])
            .first.map { (APIPrincipal(partner: $0[0] ?? "", tokenName: $0[1] ?? ""), $0[2] ?? "") }
    }

    static let customerColumns = "external_id, email, name, phone, created_at, custom_attributes::text, updated_at"

    static func customer(_ f: [String?]) -> StoredCustomer {
        StoredCustomer(externalID: f[0] ?? "", email: f[1], name: f[2], phone: f[3], createdAt: f[4], customAttributes: f[5] ?? "{}", updatedAt: f[6])
    }

    public func customer(partner: String, externalID: String) throws -> StoredCustomer? {
        try connection.query("SELECT \(Self.customerColumns) FROM customers WHERE partner = $1 AND external_id = $2", [partner, externalID])
            .first.map(Self.customer)
    }

    public func customers(partner: String, after: String?, limit: Int) throws -> [StoredCustomer] {
        // As on SQLite: no external_id is empty, so '' starts at the first.
        try connection.query("""
            SELECT \(Self.customerColumns) FROM customers WHERE partner = $1 AND external_id > $2 ORDER BY external_id LIMIT $3
            """, [partner, after ?? "", String(limit)]).map(Self.customer)
    }

    public func fileImports(partner: String?, before: Int64?, limit: Int) throws -> [ImportRecord] {
        try store.list(partner: partner, before: before, limit: limit)
    }

    public func fileImport(partner: String, id: Int64) throws -> ImportRecord? {
        try connection.query("""
            SELECT \(PostgresImportStore.columns) FROM imports WHERE partner = $1 AND id = $2 AND source = 'file'
            """, [partner, String(id)]).first.map(PostgresImportStore.record)
    }

    public func upload(partner: String, id: String) throws -> UploadRecord? {
        try connection.query("""
            SELECT id, partner, file_name, inbox_name, dry_run, size, token_name, received_at, inode, user_email
            FROM uploads WHERE partner = $1 AND id = $2
            """, [partner, id]).first.map {
            UploadRecord(id: $0[0] ?? "", partner: $0[1] ?? "", fileName: $0[2] ?? "", inboxName: $0[3] ?? "", dryRun: $0[4] == "t",
                         size: Int64($0[5] ?? "") ?? 0, inode: Int64($0[8] ?? "") ?? 0, tokenName: $0[6], userEmail: $0[9], receivedAt: $0[7] ?? "")
        }
    }

    /// Clocks of the nodes may differ by this much: the node that received an upload stamps its
    /// arrival, another node may claim it. An inode is only taken again by a later file after the
    /// earlier one left the data root, so the margin cannot match a file of long before.
    static let clockSkew = "interval '2 minutes'"

    /// As ``Uploads/progress(of:)``: the first journal entry claimed after the upload arrived
    /// with its inode (within the nodes' clock skew).
    public func progress(of upload: UploadRecord) throws -> UploadProgress {
        guard let entry = try connection.query("""
            SELECT step, outcome, import_id, last_error FROM journal
            WHERE partner = $1 AND inode = $2 AND dry_run = $3 AND claimed_at::timestamp >= $4::timestamp - \(Self.clockSkew)
            ORDER BY id LIMIT 1
            """, [upload.partner, String(upload.inode), upload.dryRun ? "true" : "false", upload.receivedAt]).first
        else { return UploadProgress(state: .waiting) }
        let record = try entry[2].flatMap { Int64($0) }.flatMap { id in
            try connection.query("SELECT \(PostgresImportStore.columns) FROM imports WHERE partner = $1 AND id = $2", [upload.partner, String(id)])
                .first.map(PostgresImportStore.record)
        }
        return UploadProgress(journalOutcome: entry[1], lastError: entry[3], record: record)
    }

    public func channels(partner: String, importIDs: [Int64]) throws -> [Int64: String] {
        var out: [Int64: String] = [:]
        for row in try connection.query("""
            SELECT id, coalesce((
                SELECT CASE WHEN u.user_email IS NOT NULL THEN 'browser' ELSE 'api' END
                FROM journal j JOIN uploads u ON u.partner = j.partner AND u.inode = j.inode AND u.dry_run = j.dry_run
                    AND u.received_at::timestamp - \(Self.clockSkew) <= j.claimed_at::timestamp
                WHERE j.partner = $1 AND j.import_id = ids.id ORDER BY u.received_at DESC LIMIT 1), 'sftp')
            FROM unnest($2::bigint[]) AS ids(id)
            """, [partner, "{" + importIDs.map(String.init).joined(separator: ",") + "}"]) {
            if let id = row[0].flatMap({ Int64($0) }) { out[id] = row[1] ?? "sftp" }
        }
        return out
    }

    public func archivedFile(partner: String, importID: Int64) throws -> String? {
        try connection.scalar("""
            SELECT archive_path FROM journal WHERE partner = $1 AND import_id = $2 AND archive_path IS NOT NULL ORDER BY id DESC LIMIT 1
            """, [partner, String(importID)])
    }

    public func history(partner: String, externalID: String) throws -> [ImportHistory.Entry] {
        try PostgresHistory(store: store).history(partner: partner, externalID: externalID)
    }

    public func snapshot<T>(_ body: () throws -> T) throws -> T {
        // Reads within (history among them) join this transaction rather than open their own.
        try connection.snapshot(body)
    }

    public func user(email: String) throws -> PortalUser? {
        try connection.query("SELECT \(PostgresAccounts.userColumns) FROM users WHERE lower(email) = lower($1)", [email]).first.map(PostgresAccounts.user)
    }

    public func session(sha256: String) throws -> PortalSession? {
        try connection.query("""
            SELECT u.id, u.email, u.partner, u.is_admin, u.password_hash, s.csrf, s.last_seen
            FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.sha256 = $1
            """, [sha256]).first.map {
            PortalSession(user: PostgresAccounts.user(Array($0[0..<5])), csrf: $0[5] ?? "", lastSeen: Double($0[6] ?? "") ?? 0)
        }
    }

    public func checkReadable() throws {
        _ = try connection.scalar("SELECT count(*) FROM imports WHERE id = 0")
    }
}
