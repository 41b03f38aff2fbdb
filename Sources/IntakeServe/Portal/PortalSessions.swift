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
    let reads: any ServeReading
    let writes: any ServeWriting
    let clock: any TimeSource
    let idleSeconds: Double
    /// Last requests seen by this process, by session digest. The database's `last_seen` is
    /// refreshed through the writer, which a long file import holds; until that write gets
    /// through, this keeps a session someone is using from expiring.
    private let seen = SeenSessions()

    init(reads: any ServeReading, writes: any ServeWriting, clock: any TimeSource, idleSeconds: Double) {
        self.reads = reads
        self.writes = writes
        self.clock = clock
        self.idleSeconds = idleSeconds
    }

    static let cookie = "intake_session"
    /// The sign-in form's CSRF token (double submit: cookie and hidden field), before a session exists.
    static let signInCookie = "intake_signin"
    static let languageCookie = "intake_lang"

    /// The session of `request`, if its cookie names a live one; refreshes its last-seen time
    /// at most once a minute (a write per page view would queue behind imports for nothing).
    func session(_ request: Request) async throws -> PortalSession? {
        guard let value = request.cookies[Self.cookie]?.value, value.hasPrefix("its_") else { return nil }
        let digest = APIToken.digest(value)
        guard let session = try await reads.read({ store in try store.session(sha256: digest) }) else { return nil }
        let now = clock.wallSeconds()
        let lastSeen = max(session.lastSeen, seen.last(digest) ?? 0)
        if now - lastSeen > idleSeconds {
            seen.forget(digest)
            _ = try? await writes.write { store in try store.endSession(sha256: digest) }
            return nil
        }
        // The stored time is refreshed at most once a minute per session, and only tried once a
        // minute: behind a file import's lock the write waits `busy_seconds`, which a page view
        // should not do every time.
        if seen.saw(digest, at: now, idleSeconds: idleSeconds, touchDue: now - session.lastSeen > 60) {
            _ = try? await writes.write { store in try store.touchSession(sha256: digest, seconds: now) }
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
        // Sessions in use whose stored time fell behind (touches that waited behind an import)
        // get their time from memory first, so the sweep below ends only idle ones.
        let recent = seen.recent(since: seconds - idle)
        try await writes.write { store in
            for (digest, time) in recent { try store.touchSession(sha256: digest, seconds: time) }
            try store.endSessions(idleSince: seconds - idle)
            try store.startSession(sha256: digest, userID: user.id, csrf: csrf, now: now, seconds: seconds)
        }
        return Self.cookie(Self.cookie, value, secure: secure)
    }

    func end(_ request: Request) async throws {
        guard let value = request.cookies[Self.cookie]?.value else { return }
        let digest = APIToken.digest(value)
        seen.forget(digest)
        try await writes.write { store in try store.endSession(sha256: digest) }
    }

    static func cookie(_ name: String, _ value: String, secure: Bool, maxAge: Int? = nil) -> Cookie {
        Cookie(name: name, value: value, maxAge: maxAge, path: "/", secure: secure, httpOnly: true, sameSite: .strict)
    }

    static func isSecure(_ request: Request) -> Bool {
        request.headers[HTTPField.Name("X-Forwarded-Proto")!]?.lowercased() == "https"
    }
}

/// Wall-clock times of the last request per session digest, and of the last try to store it,
/// swept of idle ones as it grows.
final class SeenSessions: Sendable {
    private struct Times { var seen: Double; var touchTried: Double }
    private let times = Mutex<[String: Times]>([:])

    func last(_ digest: String) -> Double? { times.withLock { $0[digest]?.seen } }
    func forget(_ digest: String) { _ = times.withLock { $0.removeValue(forKey: digest) } }

    /// Records a request; returns whether to try storing its time now (`touchDue`, and no try
    /// in the last minute).
    func saw(_ digest: String, at now: Double, idleSeconds: Double, touchDue: Bool) -> Bool {
        times.withLock { table in
            var entry = table[digest] ?? Times(seen: now, touchTried: 0)
            entry.seen = now
            let touch = touchDue && now - entry.touchTried > 60
            if touch { entry.touchTried = now }
            table[digest] = entry
            if table.count > 10_000 { table = table.filter { now - $0.value.seen <= idleSeconds } }
            return touch
        }
    }

    /// Sessions seen since `time`, with their last request.
    func recent(since time: Double) -> [(String, Double)] {
        times.withLock { table in table.compactMap { $0.value.seen >= time ? ($0.key, $0.value.seen) : nil } }
    }
}

/// Sign-in attempts per account and per address: after ``maxFailuresPerAccount`` (or
/// ``maxFailuresPerAddress``) failures within ``window`` seconds, further attempts are refused
/// (429) until the oldest failure ages out, so guessing is slow whichever is varied.
///
/// An attempt counts as a failure from the moment it is let through (``begin(email:address:)``,
/// under the same lock as the check) until it succeeds, so a burst of parallel guesses cannot
/// all pass the check while bcrypt runs. Kept in memory and swept: a restart forgives, which
/// costs an attacker a restart they cannot cause.
final class SignInLimiter: Sendable {
    static let window: Double = 15 * 60
    static let maxFailuresPerAccount = 5
    static let maxFailuresPerAddress = 20
    /// Keys kept before a sweep drops those with no attempt in the window.
    static let sweepAt = 10_000

    private let attempts = Mutex<[String: [Double]]>([:])
    private let clock: any TimeSource

    init(clock: any TimeSource) { self.clock = clock }

    /// Lets one attempt of `email` from `address` through and counts it, or returns the seconds
    /// until one may be made.
    func begin(email: String, address: String) -> Int? {
        let now = clock.monotonicSeconds()
        let keys = [("account:" + email.lowercased(), Self.maxFailuresPerAccount), ("address:" + address, Self.maxFailuresPerAddress)]
        return attempts.withLock { table in
            if table.count > Self.sweepAt {
                table = table.filter { _, times in times.last.map { now - $0 < Self.window } ?? false }
            }
            var waits: [Double] = []
            for (key, limit) in keys {
                let recent = (table[key] ?? []).filter { now - $0 < Self.window }
                table[key] = recent.isEmpty ? nil : recent
                if recent.count >= limit, let oldest = recent.first { waits.append(Self.window - (now - oldest)) }
            }
            if let wait = waits.max() { return max(1, Int(wait.rounded(.up))) }
            for (key, _) in keys { table[key, default: []].append(now) }
            return nil
        }
    }

    /// The attempt succeeded: it is not a failure, and the account's failures are forgiven.
    func succeeded(email: String, address: String) {
        attempts.withLock { table in
            table["account:" + email.lowercased()] = nil
            let key = "address:" + address
            if var times = table[key], !times.isEmpty {
                times.removeLast()
                table[key] = times.isEmpty ? nil : times
            }
        }
    }
}
