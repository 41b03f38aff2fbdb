import Foundation
import IntakeRead
import IntakeTestSupport
import Testing

/// The portal in Debian's Chromium (Selenium and chromedriver, `Browser/portal_walkthrough.py`)
/// against the real service; then what a browser cannot show: status codes of another
/// partner's URLs and of forms sent without their CSRF token, checked with curl.
/// Screenshots of each page are kept in `.build/portal-screenshots/` (not committed).
@Suite(.enabled(if: ["/usr/bin/chromium", "/usr/bin/chromedriver", "/usr/bin/curl"].allSatisfy { FileManager.default.isExecutableFile(atPath: $0) }
                    && (try? runChild("/usr/bin/python3", ["-c", "import selenium"]).status) == 0,
                "needs chromium, chromium-driver and python3-selenium (make test installs them)"))
struct PortalBrowserTests {
    static let password = "correct horse battery"
    static let csv = "external_id,email,name,phone,created_at\nA-1,a@example.com,Ann,,2018-01-01 00:11:22\nB-1,b@example.com,Bob,,\nC-1,not-an-email,Cid,,\n"

    func addUser(_ server: APIServer, _ arguments: [String], dir: String) throws {
        try writeFile(dir + "/password", Self.password + "\n")
        let run = try runChild(TestPaths.intake, ["user", "add"] + arguments + ["--password-file", dir + "/password", "--root", server.root] + server.storeArguments)
        #expect(run.status == 0, "\(run.stderr)")
    }

    /// curl with a cookie jar: the session a browser would keep.
    struct Curl {
        let jar: String
        func run(_ arguments: [String]) throws -> (status: Int, body: String) {
            let out = try runChild("/usr/bin/curl", ["-s", "-b", jar, "-c", jar, "-w", "\n%{http_code}"] + arguments)
            let lines = out.stdout.split(separator: "\n", omittingEmptySubsequences: false)
            return (Int(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n"))
        }
        /// Signs in through the form, with the sign-in page's CSRF token.
        func signIn(_ base: String, _ email: String) throws {
            let page = try run([base + "/sign-in"]).body
            let token = try #require(page.firstMatch(of: /name="csrf" value="([^"]+)"/)?.1)
            let posted = try run(["--data-urlencode", "csrf=\(token)", "--data-urlencode", "email=\(email)", "--data-urlencode", "password=\(PortalBrowserTests.password)", base + "/sign-in"])
            #expect(posted.status == 303, "sign-in as \(email): \(posted.status)")
        }
    }

    @Test(arguments: StoreKind.allCases) func aPartnersDayInTheBrowser(store: StoreKind) async throws {
        try await withAPIRoot { root in
            let server = try APIServer(root: root, store: store)
            for partner in ["acme", "other"] { try FileManager.default.createDirectory(atPath: server.inbox(partner), withIntermediateDirectories: true) }
            let dir = root + "-browser"
            let (shots, downloads) = (TestPaths.packageRoot + "/.build/portal-screenshots", dir + "/downloads")
            for folder in [shots, downloads] { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }
            try addUser(server, ["--partner", "acme", "anna@acme.example"], dir: dir)
            try addUser(server, ["--partner", "other", "boris@other.example"], dir: dir)
            try addUser(server, ["--admin", "ops@intake.example"], dir: dir)
            try writeFile(dir + "/browser.csv", Self.csv)
            try writeFile(dir + "/second.csv", Self.csv.replacingOccurrences(of: "Ann", with: "Anna"))
            try await server.start()
            defer { server.stop() }

            let walk = try await runChildDetached("/usr/bin/python3", [TestPaths.packageRoot + "/Tests/IntakeServeTests/Browser/portal_walkthrough.py",
                                                         server.base, shots, downloads, dir + "/browser.csv"])
            try #require(walk.status == 0, "the browser walkthrough failed:\n\(walk.stderr.suffix(4000))\n\(server.logText.suffix(3000))")
            let facts = try #require(try JSONSerialization.jsonObject(with: Data(walk.stdout.utf8)) as? [String: Any])
            let importID = try #require(facts["import_id"] as? Int)

            // The downloads, read back with Intake's own reader.
            var options = ReadOptions()
            options.sheet = "Summary"
            let summary = try readAllRecords(XLSXReader(path: try #require(facts["result"] as? String), options: options)).map(\.cells)
            #expect(summary.contains(["Created", "2"]) && summary.contains(["Rejected", "1"]), "\(summary)")
            #expect(try String(contentsOfFile: try #require(facts["original"] as? String), encoding: .utf8) == Self.csv)
            let template = try readAllRecords(XLSXReader(path: try #require(facts["template"] as? String))).map(\.cells)
            #expect(template.first?.prefix(5) == ["external_id", "email", "name", "phone", "created_at"])
            #expect(try server.rows("SELECT rows_rejected FROM imports WHERE id = \(try #require(facts["template_import_id"] as? Int))") == ["0"])
            #expect(try server.rows("SELECT count(*) FROM customers WHERE partner = 'acme' AND external_id = 'C-1001'") == ["1"], "the template's example row")
            #expect(try server.rows("SELECT count(*) FROM customers WHERE partner = 'acme' AND name = 'Anna'") == ["1"], "the checked file, run for real")

            // Another partner's user gets 404 for every page and download of acme's.
            let other = Curl(jar: dir + "/other.jar")
            try other.signIn(server.base, "boris@other.example")
            for path in ["/imports/\(importID)", "/imports/\(importID)/result.xlsx", "/imports/\(importID)/original", "/customers?external_id=A-1"] {
                let answer = try other.run([server.base + path])
                if path.hasPrefix("/customers") {
                    #expect(answer.status == 200 && answer.body.contains("id=\"not-found\"") && !answer.body.contains("a@example.com"), "\(path)")
                } else {
                    #expect(answer.status == 404, "\(path) for another partner: \(answer.status)")
                }
            }
            #expect(try other.run(["-X", "POST", "--data", "csrf=x", server.base + "/imports/\(importID)/run"]).status == 403, "a wrong token is refused before the import is looked up")
            #expect(try other.run([server.base + "/operator"]).status == 404, "the operator view is for admins")

            // Forms without the session's CSRF token are refused, and nothing reaches the inbox.
            let anna = Curl(jar: dir + "/anna.jar")
            try anna.signIn(server.base, "anna@acme.example")
            #expect(try anna.run(["-X", "POST", server.base + "/sign-out"]).status == 403)
            #expect(try anna.run([server.base + "/imports"]).status == 200, "still signed in")
            let forged = try anna.run(["-F", "file=@\(dir)/browser.csv;filename=forged.csv", server.base + "/upload"])
            #expect(forged.status == 403, "\(forged.status)")
            #expect(server.inboxEntries("acme").filter { $0 != "check" }.isEmpty && server.inboxEntries("acme", check: true).isEmpty)
            #expect(try server.rows("SELECT count(*) FROM imports WHERE file_name = 'forged.csv'") == ["0"])
            for page in ["01-sign-in", "02-upload", "03-imports", "04-detail", "05-template", "06-customer", "07-imports-ru", "08-operator"] {
                #expect(FileManager.default.fileExists(atPath: shots + "/\(page).png"), "screenshot \(page)")
            }
        }
    }
}
