/// A person who signs in to the portal: a partner's staff member, or an admin (no partner) who
/// sees the operator view.
public struct PortalUser: Sendable, Equatable {
    public var id: Int64
    public var email: String
    /// The partner whose files and customers the user sees; nil for an admin.
    public var partner: String?
    public var isAdmin: Bool
    public var passwordHash: String

    public init(id: Int64, email: String, partner: String?, isAdmin: Bool, passwordHash: String) {
        self.id = id
        self.email = email
        self.partner = partner
        self.isAdmin = isAdmin
        self.passwordHash = passwordHash
    }
}

/// A signed-in browser: who, and the token its forms must carry.
public struct PortalSession: Sendable, Equatable {
    public var user: PortalUser
    public var csrf: String
    /// Wall-clock seconds (since 1970) of the last request, for expiry after inactivity.
    public var lastSeen: Double

    public init(user: PortalUser, csrf: String, lastSeen: Double) {
        self.user = user
        self.csrf = csrf
        self.lastSeen = lastSeen
    }
}

/// Portal users and their sessions. Sessions are stored by the SHA-256 of the cookie's value
/// (the caller hashes), so they survive a restart and a copy of the database opens none.
public final class PortalAccounts {
    public let database: Database

    public init(database: Database) { self.database = database }

    /// Why a user cannot be added.
    public struct Refusal: Error, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
        public init(message: String) { self.message = message }
    }

    /// Adds a user, or sets the password (and partner) of the one with this email.
    /// - Returns: whether the user is new.
    @discardableResult
    public func put(email: String, partner: String?, isAdmin: Bool, passwordHash: String, now: String) throws -> Bool {
        if let existing = try user(email: email) {
            try database.cachedStatement("UPDATE users SET partner = ?2, is_admin = ?3, password_hash = ?4 WHERE id = ?1")
                .run([.integer(existing.id), SQLValue(partner), .integer(isAdmin ? 1 : 0), .text(passwordHash)])
            // A new password ends every session of the old one.
            try database.cachedStatement("DELETE FROM sessions WHERE user_id = ?1").run([.integer(existing.id)])
            return false
        }
        try database.cachedStatement("INSERT INTO users (email, partner, is_admin, password_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)")
            .run([.text(email), SQLValue(partner), .integer(isAdmin ? 1 : 0), .text(passwordHash), .text(now)])
        return true
    }

    /// The user with this email (compared without case), if any.
    public func user(email: String) throws(SQLiteError) -> PortalUser? {
        try database.cachedStatement("SELECT id, email, partner, is_admin, password_hash FROM users WHERE email = ?1")
            .rows([.text(email)]).first.map(Self.user)
    }

    /// Every user, by email.
    public func list() throws(SQLiteError) -> [PortalUser] {
        try database.cachedStatement("SELECT id, email, partner, is_admin, password_hash FROM users ORDER BY email").rows().map(Self.user)
    }

    /// Removes a user and its sessions.
    public func remove(email: String) throws {
        try database.cachedStatement("DELETE FROM sessions WHERE user_id IN (SELECT id FROM users WHERE email = ?1)").run([.text(email)])
        try database.cachedStatement("DELETE FROM users WHERE email = ?1").run([.text(email)])
        if database.changes == 0 { throw Refusal(message: "there is no portal user \(email)") }
    }

    private static func user(_ row: [String?]) -> PortalUser {
        PortalUser(id: Int64(row[0] ?? "") ?? 0, email: row[1] ?? "", partner: row[2], isAdmin: row[3] == "1", passwordHash: row[4] ?? "")
    }

    // MARK: Sessions

    public func startSession(sha256: String, userID: Int64, csrf: String, now: String, seconds: Double) throws(SQLiteError) {
        try database.cachedStatement("INSERT INTO sessions (sha256, user_id, csrf, created_at, last_seen) VALUES (?1, ?2, ?3, ?4, ?5)")
            .run([.text(sha256), .integer(userID), .text(csrf), .text(now), .integer(Int64(seconds))])
    }

    /// The session stored under this digest, with its user.
    public func session(sha256: String) throws(SQLiteError) -> PortalSession? {
        try database.cachedStatement("""
            SELECT u.id, u.email, u.partner, u.is_admin, u.password_hash, s.csrf, s.last_seen
            FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.sha256 = ?1
            """).rows([.text(sha256)]).first.map {
            PortalSession(user: Self.user(Array($0[0..<5])), csrf: $0[5] ?? "", lastSeen: Double($0[6] ?? "") ?? 0)
        }
    }

    public func touchSession(sha256: String, seconds: Double) throws(SQLiteError) {
        try database.cachedStatement("UPDATE sessions SET last_seen = ?2 WHERE sha256 = ?1").run([.text(sha256), .integer(Int64(seconds))])
    }

    public func endSession(sha256: String) throws(SQLiteError) {
        try database.cachedStatement("DELETE FROM sessions WHERE sha256 = ?1").run([.text(sha256)])
    }

    /// Removes sessions idle since before `seconds`.
    public func endSessions(idleSince seconds: Double) throws(SQLiteError) {
        try database.cachedStatement("DELETE FROM sessions WHERE last_seen < ?1").run([.integer(Int64(seconds))])
    }
}
