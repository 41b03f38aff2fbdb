import IntakeStore

/// API tokens and portal users in PostgreSQL, for the operator's `intake token` and `intake user`
/// commands; the same rules as SQLite's ``APITokens`` and ``PortalAccounts``.
public final class PostgresAccounts: AccountAdmin {
    private let connection: PostgresConnection

    public init(store: PostgresImportStore) { connection = store.connection }

    public func addToken(partner: String, name: String, sha256: String, now: String) throws -> Int64 {
        do {
            let id = try connection.scalar("""
                INSERT INTO api_tokens (partner, name, sha256, created_at) VALUES ($1, $2, $3, $4) RETURNING id
                """, [partner, name, sha256, now])
            return Int64(id ?? "") ?? 0
        } catch {
            // The live name's partial unique index (a digest repeats only with a broken generator).
            guard error.sqlState == PostgresError.uniqueViolation else { throw error }
            throw APITokens.Refusal(message: "partner \(partner) already has a token named \"\(name)\"; revoke it or choose another --name")
        }
    }

    public func tokens(partner: String?) throws -> [APITokenRecord] {
        try connection.query("""
            SELECT id, partner, name, created_at, revoked_at FROM api_tokens WHERE $1::text IS NULL OR partner = $1 ORDER BY id
            """, [partner]).map {
            APITokenRecord(id: Int64($0[0] ?? "") ?? 0, partner: $0[1] ?? "", name: $0[2] ?? "", createdAt: $0[3] ?? "", revokedAt: $0[4])
        }
    }

    public func revokeToken(partner: String, name: String, now: String) throws {
        let revoked = try connection.query("""
            UPDATE api_tokens SET revoked_at = $3 WHERE partner = $1 AND name = $2 AND revoked_at IS NULL RETURNING id
            """, [partner, name, now])
        if revoked.isEmpty { throw APITokens.Refusal(message: "partner \(partner) has no live token named \"\(name)\"") }
    }

    @discardableResult
    public func putUser(email: String, partner: String?, isAdmin: Bool, passwordHash: String, now: String) throws -> Bool {
        try connection.transaction {
            // A new password ends every session of the old one (the CTE runs whether or not the
            // user exists; a new user has none).
            let updated = try connection.query("""
                WITH changed AS (
                    UPDATE users SET partner = $2, is_admin = $3, password_hash = $4 WHERE lower(email) = lower($1) RETURNING id
                ), ended AS (
                    DELETE FROM sessions WHERE user_id IN (SELECT id FROM changed)
                )
                SELECT id FROM changed
                """, [email, partner, isAdmin ? "true" : "false", passwordHash])
            if !updated.isEmpty { return false }
            try connection.query("""
                INSERT INTO users (email, partner, is_admin, password_hash, created_at) VALUES ($1, $2, $3, $4, $5)
                """, [email, partner, isAdmin ? "true" : "false", passwordHash, now])
            return true
        }
    }

    public func users() throws -> [PortalUser] {
        try connection.query("SELECT \(Self.userColumns) FROM users ORDER BY lower(email) COLLATE \"C\", email").map(Self.user)
    }

    public func removeUser(email: String) throws {
        // Its sessions go with it (ON DELETE CASCADE).
        let removed = try connection.query("DELETE FROM users WHERE lower(email) = lower($1) RETURNING id", [email])
        if removed.isEmpty { throw PortalAccounts.Refusal(message: "there is no portal user \(email)") }
    }

    static let userColumns = "id, email, partner, is_admin, password_hash"

    static func user(_ row: [String?]) -> PortalUser {
        PortalUser(id: Int64(row[0] ?? "") ?? 0, email: row[1] ?? "", partner: row[2], isAdmin: row[3] == "t", passwordHash: row[4] ?? "")
    }
}
