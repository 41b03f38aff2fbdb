import Foundation
import HTTPTypes
import Hummingbird
import IntakeStore
import IntakeSystem
import Synchronization

/// Who is signed in, from the session cookie; sessions start and end here.
///
/// The cookie holds 256 random bits; the database holds their SHA-256, the user and the CSRF
/// token every form of the session must carry. Cookies are `HttpOnly` and `SameSite=Strict`,
/// and `Secure` whenever the request came over HTTPS (nginx says so in `X-Forwarded-Proto`); a
/// browser talking to the loopback listener directly gets them without `Secure`, which a browser
/// would otherwise drop on plain HTTP. A session ends after ``idleSeconds`` without a request.
struct PortalSessions: Sendable {
    let reads: ReadPool
    let writes: GroupCommitter
    let clock: any TimeSource
    let idleSeconds: Double

    static let cookie = "intake_session"
    /// The sign-in form's CSRF token (double submit: cookie and hidden field), before a session exists.
    static let signInCookie = "intake_signin"
    static let languageCookie = "intake_lang"

    /// The session of `request`, if its cookie names a live one; refreshes its last-seen time
    /// at most once a minute (a write per page view would queue behind imports for nothing).
    func session(_ request: Request) async throws -> PortalSession? {
        guard let value = request.cookies[Self.cookie]?.value, value.hasPrefix("its_") else { return nil }
        let digest = APIToken.digest(value)
        guard let session = try reads.read({ database in try PortalAccounts(database: database).session(sha256: digest) }) else { return nil }
        let now = clock.wallSeconds()
        if now - session.lastSeen > idleSeconds {
            _ = try? await writes.write { database in try PortalAccounts(database: database).endSession(sha256: digest) }
            return nil
        }
        if now - session.lastSeen > 60 {
            _ = try? await writes.write { database in try PortalAccounts(database: database).touchSession(sha256: digest, seconds: now) }
        }
        return session
    }

    /// Starts a session for `user` and returns the cookie to set.
    func start(for user: PortalUser, secure: Bool) async throws -> Cookie {
        let value = "its_" + String(APIToken.generate().dropFirst(4))
        let digest = APIToken.digest(value)
        let csrf = String(APIToken.generate().dropFirst(4))
        let (now, seconds) = (clock.utcNow(), clock.wallSeconds())
        let idle = idleSeconds
        try await writes.write { database in
            let accounts = PortalAccounts(database: database)
            try accounts.endSessions(idleSince: seconds - idle)
            try accounts.startSession(sha256: digest, userID: user.id, csrf: csrf, now: now, seconds: seconds)
        }
        return Self.cookie(Self.cookie, value, secure: secure)
    }

    func end(_ request: Request) async throws {
        guard let value = request.cookies[Self.cookie]?.value else { return }
        let digest = APIToken.digest(value)
        try await writes.write { database in try PortalAccounts(database: database).endSession(sha256: digest) }
    }

    static func cookie(_ name: String, _ value: String, secure: Bool, maxAge: Int? = nil) -> Cookie {
        Cookie(name: name, value: value, maxAge: maxAge, path: "/", secure: secure, httpOnly: true, sameSite: .strict)
    }

    static func isSecure(_ request: Request) -> Bool {
        request.headers[HTTPField.Name("X-Forwarded-Proto")!]?.lowercased() == "https"
    }
}

/// Sign-in attempts per account and per address: after ``maxFailures`` failures within
/// ``window`` seconds, further attempts are refused (429) until the oldest failure ages out, so
/// guessing is slow whichever is varied. Kept in memory: a restart forgives, which costs an
/// attacker a restart they cannot cause.
final class SignInLimiter: Sendable {
    static let window: Double = 15 * 60
    static let maxFailuresPerAccount = 5
    static let maxFailuresPerAddress = 20

    private let failures = Mutex<[String: [Double]]>([:])
    private let clock: any TimeSource

    init(clock: any TimeSource) { self.clock = clock }

    /// Seconds until `email` from `address` may try again; nil when it may now.
    func wait(email: String, address: String) -> Int? {
        let now = clock.monotonicSeconds()
        return failures.withLock { table in
            var waits: [Double] = []
            for (key, limit) in [("account:" + email.lowercased(), Self.maxFailuresPerAccount), ("address:" + address, Self.maxFailuresPerAddress)] {
                let recent = (table[key] ?? []).filter { now - $0 < Self.window }
                table[key] = recent
                if recent.count >= limit, let oldest = recent.first { waits.append(Self.window - (now - oldest)) }
            }
            return waits.max().map { Int($0.rounded(.up)) }
        }
    }

    func failed(email: String, address: String) {
        let now = clock.monotonicSeconds()
        failures.withLock { table in
            for key in ["account:" + email.lowercased(), "address:" + address] { table[key, default: []].append(now) }
        }
    }

    func succeeded(email: String) {
        _ = failures.withLock { $0.removeValue(forKey: "account:" + email.lowercased()) }
    }
}
