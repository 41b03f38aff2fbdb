/// A partner's API token as listed: never the token itself, which is shown once at creation.
public struct APITokenRecord: Sendable, Equatable {
    public var id: Int64
    public var partner: String
    public var name: String
    public var createdAt: String
    public var revokedAt: String?

    public init(id: Int64, partner: String, name: String, createdAt: String, revokedAt: String?) {
        self.id = id
        self.partner = partner
        self.name = name
        self.createdAt = createdAt
        self.revokedAt = revokedAt
    }
}

/// Who a request's token belongs to.
public struct APIPrincipal: Sendable, Equatable {
    public var partner: String
    /// The token's name, recorded with every change it makes.
    public var tokenName: String

    public init(partner: String, tokenName: String) {
        self.partner = partner
        self.tokenName = tokenName
    }
}

/// The API tokens of all partners. Only each token's SHA-256 (hex) is stored, so a copy of the
/// database gives no working token; the caller hashes (see `APIToken` in IntakeServe).
public final class APITokens {
    public let database: Database

    /// The tokens kept in `database`.
    public init(database: Database) { self.database = database }

    /// Why a token cannot be created or revoked.
    public struct Refusal: Error, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
        public init(message: String) { self.message = message }
    }

    /// Records a new token of `partner` named `name` by its digest; returns its id.
    /// - Throws: ``Refusal`` when the partner already has a token of that name.
    public func add(partner: String, name: String, sha256: String, now: String) throws -> Int64 {
        let live = try database.cachedStatement("SELECT 1 FROM api_tokens WHERE partner = ?1 AND name = ?2 AND revoked_at IS NULL")
            .rows([.text(partner), .text(name)])
        if !live.isEmpty {
            throw Refusal(message: "partner \(partner) already has a token named \"\(name)\"; revoke it or choose another --name")
        }
        try database.cachedStatement("INSERT INTO api_tokens (partner, name, sha256, created_at) VALUES (?1, ?2, ?3, ?4)")
            .run([.text(partner), .text(name), .text(sha256), .text(now)])
        return database.lastInsertRowID
    }

    /// The partner and token name of a live (not revoked) token with this digest, and the
    /// digest as stored, for the caller's constant-time comparison.
    public func principal(sha256: String) throws(SQLiteError) -> (APIPrincipal, storedDigest: String)? {
        let row = try database.cachedStatement("SELECT partner, name, sha256 FROM api_tokens WHERE sha256 = ?1 AND revoked_at IS NULL")
            .rows([.text(sha256)]).first
        return row.map { (APIPrincipal(partner: $0[0] ?? "", tokenName: $0[1] ?? ""), $0[2] ?? "") }
    }

    /// Tokens of one partner, or of all when `partner` is nil, oldest first.
    public func list(partner: String?) throws(SQLiteError) -> [APITokenRecord] {
        try database.cachedStatement("""
            SELECT id, partner, name, created_at, revoked_at FROM api_tokens WHERE ?1 IS NULL OR partner = ?1 ORDER BY id
            """).rows([SQLValue(partner)]).map {
            APITokenRecord(id: Int64($0[0] ?? "") ?? 0, partner: $0[1] ?? "", name: $0[2] ?? "", createdAt: $0[3] ?? "", revokedAt: $0[4])
        }
    }

    /// Revokes `partner`'s token named `name`; requests with it get 401 from then on.
    /// - Throws: ``Refusal`` when there is no live token of that name.
    public func revoke(partner: String, name: String, now: String) throws {
        try database.cachedStatement("UPDATE api_tokens SET revoked_at = ?3 WHERE partner = ?1 AND name = ?2 AND revoked_at IS NULL")
            .run([.text(partner), .text(name), .text(now)])
        if database.changes == 0 { throw Refusal(message: "partner \(partner) has no live token named \"\(name)\"") }
    }
}
