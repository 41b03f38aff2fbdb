import Foundation
import IntakeTestSupport
import Testing

/// Sign-in and sessions over plain HTTP with curl: limits on failed attempts, sessions that
/// survive a restart, end after inactivity or sign-out, and cookies with the right flags.
@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/curl"), "needs curl"))
struct PortalSessionTests {
    func signInForm(_ curl: PortalBrowserTests.Curl, _ base: String, _ email: String, _ password: String) throws -> (status: Int, body: String) {
        let page = try curl.run([base + "/sign-in"]).body
        let token = try #require(page.firstMatch(of: /name="csrf" value="([^"]+)"/)?.1)
        return try curl.run(["--data-urlencode", "csrf=\(token)", "--data-urlencode", "email=\(email)", "--data-urlencode", "password=\(password)", base + "/sign-in"])
    }

    @Test(arguments: StoreKind.allCases) func failedAttemptsAreLimitedPerAccountAndSessionsLastUntilIdleOrSignOut(store: StoreKind) async throws {
        try await withAPIRoot { root in
            let server = try APIServer(root: root, store: store)
            try FileManager.default.createDirectory(atPath: server.inbox("acme"), withIntermediateDirectories: true)
            let dir = root + "-sessions"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try PortalBrowserTests().addUser(server, ["--partner", "acme", "anna@acme.example"], dir: dir)
            try await server.start()

            // Five wrong passwords for one account; the sixth try is refused even when right.
            let guesser = PortalBrowserTests.Curl(jar: dir + "/guesser.jar")
            for _ in 0..<5 { #expect(try signInForm(guesser, server.base, "anna@acme.example", "wrong password").status == 401) }
            let limited = try signInForm(guesser, server.base, "ANNA@acme.example", PortalBrowserTests.password)
            #expect(limited.status == 429 && limited.body.contains("Too many failed attempts"), "\(limited.status)")
            // A sign-in form posted without its token is refused before the password is looked at.
            #expect(try guesser.run(["--data", "email=anna@acme.example&password=x", server.base + "/sign-in"]).status == 403)
            server.stop()

            // A restart forgives the attempts (they are kept in memory) and keeps sessions (kept in the database).
            try await server.start()
            let browser = PortalBrowserTests.Curl(jar: dir + "/browser.jar")
            let signedIn = try signInForm(browser, server.base, "anna@acme.example", PortalBrowserTests.password)
            #expect(signedIn.status == 303)
            let jar = try String(contentsOfFile: dir + "/browser.jar", encoding: .utf8)
            #expect(jar.contains("#HttpOnly_127.0.0.1") && jar.contains("intake_session"), "HttpOnly session cookie:\n\(jar)")
            let headers = try runChild("/usr/bin/curl", ["-s", "-D", "-", "-o", "/dev/null", "-H", "X-Forwarded-Proto: https", server.base + "/sign-in"]).stdout
            #expect(headers.contains("Secure") && headers.contains("SameSite=Strict") && headers.contains("HttpOnly"), "behind TLS the cookies are Secure:\n\(headers)")
            server.stop()
            try await server.start()
            defer { server.stop() }
            #expect(try browser.run([server.base + "/imports"]).status == 200, "the session survived the restart")
            let digests = try server.rows("SELECT sha256 FROM sessions")
            #expect(!digests.isEmpty && digests.allSatisfy { $0.count == 64 && $0.allSatisfy(\.isHexDigit) && $0 == $0.lowercased() }, "only hex digests are stored: \(digests)")

            // Idle past the limit (30 minutes by default): the next request signs in again, and the row is gone.
            // (Aged while stopped: a running service also remembers the last request in memory.)
            server.stop()
            try server.rows("UPDATE sessions SET last_seen = last_seen - 31 * 60")
            try await server.start()
            let idle = try browser.run([server.base + "/imports"])
            #expect(idle.status == 303, "an idle session ends: \(idle.status)")
            #expect(try server.rows("SELECT count(*) FROM sessions") == ["0"])

            // Sign-out ends the session on the server, not only in the browser.
            #expect(try signInForm(browser, server.base, "anna@acme.example", PortalBrowserTests.password).status == 303)
            let page = try browser.run([server.base + "/imports"]).body
            let csrf = try #require(page.firstMatch(of: /name="csrf" value="([^"]+)"/)?.1)
            let saved = try String(contentsOfFile: dir + "/browser.jar", encoding: .utf8)
            #expect(try browser.run(["--data", "csrf=\(csrf)", server.base + "/sign-out"]).status == 303)
            try writeFile(dir + "/replay.jar", saved)
            #expect(try PortalBrowserTests.Curl(jar: dir + "/replay.jar").run([server.base + "/imports"]).status == 303, "a copied cookie is dead after sign-out")
        }
    }

    @Test func aFileOverThePartnersLimitIsRefusedWithAPageBeforeItIsRead() async throws {
        try await withAPIRoot { root in
            let server = try APIServer(root: root, settings: """
                partners:
                  acme:
                    limits:
                      max_bytes: 2048
                """)
            try FileManager.default.createDirectory(atPath: server.inbox("acme"), withIntermediateDirectories: true)
            let dir = root + "-limit"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try PortalBrowserTests().addUser(server, ["--partner", "acme", "anna@acme.example"], dir: dir)
            try await server.start()
            defer { server.stop() }
            let anna = PortalBrowserTests.Curl(jar: dir + "/anna.jar")
            #expect(try signInForm(anna, server.base, "anna@acme.example", PortalBrowserTests.password).status == 303)
            let form = try anna.run([server.base + "/upload"]).body
            #expect(form.contains("Files up to 2 KiB."))
            let csrf = try #require(form.firstMatch(of: /name="csrf" value="([^"]+)"/)?.1)
            try writeFile(dir + "/big.csv", "external_id,email,name,phone,created_at\n" + String(repeating: "1,a@example.com,A,,\n", count: 200))
            let refused = try anna.run(["-F", "csrf=\(csrf)", "-F", "file=@\(dir)/big.csv", server.base + "/upload"])
            #expect(refused.status == 413 && refused.body.contains("The file is too large: the limit is 2 KiB."), "\(refused.status)")
            #expect(server.inboxEntries("acme").isEmpty)
        }
    }
}
