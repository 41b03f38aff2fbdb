import IntakeStore
import IntakeSystem

/// The HTTP side's writes on the writer's connection, batched by a ``GroupCommitter``: one
/// transaction per batch, a savepoint per write, committed before any caller is answered.
extension PostgresServeConnection: ServeWrites, GroupCommitConnection {
    public func beginBatch() throws {
        // Between batches this connection holds no session state worth keeping (its locks are
        // the transaction's), so a broken connection is made again: at once when libpq knows,
        // else after BEGIN found out (nothing was sent yet, so one more try is safe).
        try connection.reconnectIfBroken()
        do {
            try connection.execute("BEGIN")
        } catch {
            guard connection.isBroken else { throw error }
            try connection.reconnectIfBroken()
            try connection.execute("BEGIN")
        }
        // The batch's writes wait for partners' file imports (each holds its partner's lock for
        // the whole file) at most `busySeconds` in all, as SQLite's busy timeout bounds the
        // batch's one wait for the write lock.
        batchDeadline = SystemTime().monotonicSeconds() + busySeconds
        busyPartners = []
    }

    public func savepoint() throws { try connection.execute("SAVEPOINT write") }
    public func releaseSavepoint() throws { try connection.execute("RELEASE SAVEPOINT write") }
    public func rollbackToSavepoint() throws { try connection.execute("ROLLBACK TO SAVEPOINT write; RELEASE SAVEPOINT write") }
    public func commitBatch() throws { try connection.commit() }
    public func rollbackBatch() { try? connection.execute("ROLLBACK") }

    /// A lost connection (the server restarted or failed over) is "try again" too: the next
    /// batch connects again. A COMMIT cut off that way is in doubt; a client's retry of a PUT
    /// finds its values stored, a POST's answers 422.
    public func isBusy(_ error: any Error) -> Bool {
        guard let error = error as? PostgresError else { return false }
        return Self.isTransient(error) || connection.isBroken
    }

    /// Lock waits past the bound, a deadlock between two nodes' batches (each waiting for a
    /// partner the other holds), a serialization failure, the server shutting down or the
    /// connection lost: nothing of the write stays, and the client may try again.
    static func isTransient(_ error: PostgresError) -> Bool {
        [PostgresError.lockNotAvailable, "40P01", "40001", "57P01", "57P02", "57P03"].contains(error.sqlState) || error.sqlState.hasPrefix("08")
    }

    /// Takes `partner`'s import lock for the rest of the batch, waiting at most what is left of
    /// the batch's bound.
    /// - Throws: ``StoreBusy`` when a file import of the partner holds it past that.
    private func lockPartner(_ partner: String) throws {
        if busyPartners.contains(partner) { throw StoreBusy() }
        // Rounded up, so the wait never ends before the batch's bound does.
        let left = Int(((batchDeadline - SystemTime().monotonicSeconds()) * 1000).rounded(.up))
        do {
            if left > 0 {
                // Local to the savepoint: a write that fails takes its setting with it.
                try connection.query("SELECT set_config('lock_timeout', $1, true)", [String(left)])
                try connection.lockPartnerImports(partner)
                return
            }
            if try connection.tryLockPartnerImports(partner) { return }
        } catch {
            guard Self.isTransient(error) else { throw error }
        }
        busyPartners.insert(partner)
        throw StoreBusy()
    }

    /// As SQLite's ``APIWrites/apply(_:mode:principal:request:bytes:now:in:)``: an `imports` row
    /// of source `api`, the customer created or merged under the partner's mode (unchanged when
    /// the merge equals what is stored), the values it replaced in `customer_changes`, and
    /// no record at all when nothing changed. Under the partner's import lock, so a file import
    /// of the same partner never plans over a customer this write changes meanwhile.
    public func writeCustomer(_ update: CustomerUpdate, mode: ImportMode, principal: APIPrincipal, request: String,
                              bytes: Int, now: String) throws -> APIWrites.Outcome {
        let partner = principal.partner
        try lockPartner(partner)
        guard let changeID = try connection.scalar("""
            INSERT INTO imports (partner, file_name, sha256, size, status, rows_read, started_at, finished_at, mode, source, token_name)
            VALUES ($1, $2, '', $3, 'completed', 1, $4, $4, $5, 'api', $6) RETURNING id
            """, [partner, request, String(bytes), now, mode.rawValue, principal.tokenName]).flatMap({ Int64($0) }) else {
            throw PostgresError(message: "INSERT INTO imports returned no id")
        }
        let result = try apply(update, mode: mode, partner: partner, importID: changeID, now: now)
        switch result {
        case .alreadyExists: throw APIWrites.Refusal.alreadyExists
        case .notFound: throw APIWrites.Refusal.notFound
        case .created, .updated:
            let column = result == .created ? "rows_created" : "rows_updated"
            try connection.query("UPDATE imports SET \(column) = 1 WHERE partner = $1 AND id = $2", [partner, String(changeID)])
        case .unchanged, .skipped, .repeated:
            try connection.query("DELETE FROM imports WHERE partner = $1 AND id = $2", [partner, String(changeID)])
        }
        guard let stored = try customer(partner: partner, externalID: update.externalID) else {
            throw PostgresError(message: "customer \(update.externalID) is missing right after its write")
        }
        return APIWrites.Outcome(result: result, customer: stored, changeID: result == .created || result == .updated ? changeID : nil)
    }

    /// One customer's upsert in `mode`, as ``CustomerWriter`` decides it for a file's row.
    private func apply(_ update: CustomerUpdate, mode: ImportMode, partner: String, importID: Int64, now: String) throws -> UpsertResult {
        let id = String(importID)
        guard let stored = try connection.query("""
            SELECT email, name, phone, created_at, custom_attributes::text, updated_by_import, updated_at, import_row
            FROM customers WHERE partner = $1 AND external_id = $2 FOR UPDATE
            """, [partner, update.externalID]).first else {
            if mode == .updateOnly { return .notFound }
            try connection.query("""
                INSERT INTO customers (partner, external_id, email, name, phone, created_at, custom_attributes,
                                       created_by_import, updated_by_import, updated_at, import_row)
                VALUES ($1, $2, $3, $4, $5, $6, $7::json, $8, $8, $9, 1)
                """, [partner, update.externalID, update.email, update.name, update.phone, update.createdAt, update.attributesJSON, id, now])
            return .created
        }
        switch mode {
        case .createOnly: return .alreadyExists
        case .skipExisting: return .skipped
        case .merge, .replace, .updateOnly: break
        }
        let storedAttributes = stored[4] ?? "{}"
        let merged: [String?]
        if mode == .replace {
            merged = [update.email, update.name, update.phone, update.createdAt, update.attributesJSON]
        } else {
            // RFC 7396 as SQLite's json_patch: the stored object itself when nothing is given or
            // the text is the same, which also keeps "unchanged" exact.
            let attributes = update.attributesJSON == "{}" || String.sameBytes(update.attributesJSON, storedAttributes)
                ? storedAttributes
                : try connection.scalar("SELECT intake_merge_attributes($1::json, $2::json)::text", [storedAttributes, update.attributesJSON]) ?? storedAttributes
            merged = [update.email ?? stored[0], update.name ?? stored[1], update.phone ?? stored[2], update.createdAt ?? stored[3], attributes]
        }
        // Compared as bytes, as the database stores them (see `String.sameBytes`).
        if merged.elementsEqual(Array(stored[0..<4]) + [storedAttributes], by: String.sameBytes) { return .unchanged }
        try connection.query("""
            WITH before AS (
                SELECT intake_replaced(email, name, phone, created_at, custom_attributes, $3, $4, $5, $6, $7::json,
                                       updated_by_import, updated_at, import_row) AS values
                FROM customers WHERE partner = $1 AND external_id = $2
            ), changed AS (
                UPDATE customers SET email = $3, name = $4, phone = $5, created_at = $6, custom_attributes = $7::json,
                                     updated_by_import = $8, updated_at = $9, import_row = 1
                WHERE partner = $1 AND external_id = $2
            )
            INSERT INTO customer_changes (partner, import_id, external_id, action, before, after, changed_at)
            SELECT $1, $8, $2, 'updated', before.values::json, NULL, $9 FROM before
            """, [partner, update.externalID] + merged + [id, now])
        return .updated
    }

    public func addUpload(_ upload: UploadRecord) throws {
        try connection.query("""
            INSERT INTO uploads (partner, id, file_name, inbox_name, dry_run, size, token_name, received_at, inode, user_email)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
            """, [upload.partner, upload.id, upload.fileName, upload.inboxName, upload.dryRun ? "true" : "false", String(upload.size),
                  upload.tokenName, upload.receivedAt, String(upload.inode), upload.userEmail])
    }

    public func renameUpload(partner: String, id: String, inboxName: String) throws {
        try connection.query("UPDATE uploads SET inbox_name = $3 WHERE partner = $1 AND id = $2", [partner, id, inboxName])
    }

    public func removeUpload(partner: String, id: String) throws {
        try connection.query("DELETE FROM uploads WHERE partner = $1 AND id = $2", [partner, id])
    }

    public func startSession(sha256: String, userID: Int64, csrf: String, now: String, seconds: Double) throws {
        try connection.query("INSERT INTO sessions (sha256, user_id, csrf, created_at, last_seen) VALUES ($1, $2, $3, $4, $5)",
                             [sha256, String(userID), csrf, now, String(Int64(seconds))])
    }

    public func touchSession(sha256: String, seconds: Double) throws {
        try connection.query("UPDATE sessions SET last_seen = $2 WHERE sha256 = $1", [sha256, String(Int64(seconds))])
    }

    public func endSession(sha256: String) throws {
        try connection.query("DELETE FROM sessions WHERE sha256 = $1", [sha256])
    }

    public func endSessions(idleSince seconds: Double) throws {
        try connection.query("DELETE FROM sessions WHERE last_seen < $1", [String(Int64(seconds))])
    }
}
