import Foundation
import IntakeStore
import IntakeStorePostgres
import IntakeTestSupport
import IntakeValidate
import Testing

/// `/v4/consumers` against the real service on loopback: every status code the API promises,
/// the file rules' sentences, partner modes, history and undo.
@Suite struct ConsumerAPITests {
    @Test(arguments: StoreKind.allCases) func consumersAnswerWithEveryPromisedStatus(store: StoreKind) async throws {
        try await withAPIRoot { root in
            let server = try APIServer(root: root, settings: "http:\n  max_json_bytes: 2048\n", store: store)
            let token = try server.token("acme", name: "crm")
            try await server.start()
            defer { server.stop() }
            let url = server.base + "/v4/consumers"
            let ready = try await send("GET", server.base + "/readyz")
            #expect(ready.status == 200 && ready.text == "ready\n", "\(ready.text)")

            // 201 with the stored resource and Location; values normalized by the file rules.
            let created = try await send("POST", url, token: token, json: consumer([
                "external_id": "42", "email": "Ann@Example.COM", "name": " Ann ", "phone": "+1 (555) 010-0100",
                "created_at": "2018-01-01 00:11:22", "custom_attributes": ["tier": "gold", "points": 12, "vip": true],
            ]))
            #expect(created.status == 201, "\(created.text)")
            #expect(created.header("Location") == "/v4/consumers/42")
            #expect(created.header("Content-Type") == "application/vnd.api+json")
            #expect(created.attributes["email"] as? String == "Ann@example.com")
            #expect(created.attributes["name"] as? String == "Ann")
            #expect(created.attributes["phone"] as? String == "+15550100100")
            // Numbers and booleans stay typed; the order sent is kept.
            let stored = try server.rows("SELECT custom_attributes FROM customers WHERE external_id = '42'")
            #expect(stored == [#"{"points":12,"tier":"gold","vip":true}"#])

            // 422 for an existing external_id, as the platform does.
            let again = try await send("POST", url, token: token, json: consumer(["external_id": "42"]))
            #expect(again.status == 422)
            #expect(again.errors.first?["source"] as? [String: String] == ["pointer": "/data/attributes/external_id"])

            // PUT merges: given fields and attribute keys change, the rest stays.
            let put = try await send("PUT", url + "/42", token: token, bearer: true, json: consumer(["name": "Ann B", "custom_attributes": ["tier": "silver"]]))
            #expect(put.status == 200, "\(put.text)")
            #expect(put.attributes["name"] as? String == "Ann B")
            #expect(put.attributes["email"] as? String == "Ann@example.com")
            let attributes = put.attributes["custom_attributes"] as? [String: Any] ?? [:]
            #expect(attributes["tier"] as? String == "silver" && attributes["points"] as? Int == 12)
            // PUT of a new id creates it.
            let fresh = try await send("PUT", url + "/new%20one", token: token, json: consumer(["email": "n@example.com"]))
            #expect(fresh.status == 201 && fresh.header("Location") == "/v4/consumers/new%20one", "\(fresh.text)")
            #expect(try await send("GET", url + "/new%20one", token: token).attributes["email"] as? String == "n@example.com")

            // 422: each bad field named by pointer, with the result workbook's sentence.
            let bad = try await send("PUT", url + "/42", token: token, json: consumer(["email": "ann@", "phone": "12ab", "created_at": "yesterday"]))
            #expect(bad.status == 422)
            let expected: [String: String] = [
                "/data/attributes/email": try #require(RowValidator.check(.email, "ann@").failureMessage),
                "/data/attributes/phone": try #require(RowValidator.check(.phone, "12ab").failureMessage),
                "/data/attributes/created_at": try #require(RowValidator.check(.createdAt, "yesterday").failureMessage),
            ]
            let got = Dictionary(uniqueKeysWithValues: bad.errors.map { error -> (String, String) in
                let pointer = (error["source"] as? [String: String])?["pointer"]
                return (pointer ?? "", error["detail"] as? String ?? "")
            })
            #expect(got == expected)

            // One character with 600 combining marks: 255 characters allow it, 1,024 bytes do not.
            let heavy = "a" + String(repeating: "\u{301}", count: 600)
            let tooLong = try await send("POST", url, token: token, json: consumer(["external_id": heavy]))
            #expect(tooLong.status == 422 && tooLong.detail.contains("1024 bytes"), "\(tooLong.detail.prefix(200))")
            // The same document twice: the second changes nothing and says so with 200, and
            // leaves no record (no import of its own, no change for history or undo).
            #expect(try await send("PUT", url + "/42", token: token, json: consumer(["name": "Ann B"])).status == 200)
            let records = try server.rows("SELECT (SELECT count(*) FROM imports WHERE source = 'api') || '/' || (SELECT count(*) FROM customer_changes)")
            #expect(records == ["3/1"], "three writes so far: two creations and one change")
            #expect(try await send("PUT", url + "/42", token: token, json: consumer(["name": "Ann B"])).status == 200)
            #expect(try server.rows("SELECT (SELECT count(*) FROM imports WHERE source = 'api') || '/' || (SELECT count(*) FROM customer_changes)") == records)

            // 400 for JSON that does not parse, saying where.
            let broken = try await send("POST", url, token: token, headers: ["Content-Type": "application/vnd.api+json"], body: Data("{\n \"data\": {\"type\": \"consumers\",}\n}".utf8))
            #expect(broken.status == 400)
            #expect(broken.detail.contains("line 2, column 31"), "\(broken.text)")
            #expect(try await send("POST", url, token: token, json: #"{"data": []}"#).status == 400)
            #expect(try await send("POST", url, token: token, json: #"{"data": {"type": "people", "attributes": {}}}"#).status == 409)
            // 415, 406, 405, 413, 404.
            #expect(try await send("POST", url, token: token, headers: ["Content-Type": "text/plain"], body: Data(consumer(["external_id": "x"]).utf8)).status == 415)
            #expect(try await send("GET", url + "/42", token: token, headers: ["Accept": "text/html"]).status == 406)
            let delete = try await send("DELETE", url + "/42", token: token)
            #expect(delete.status == 405 && delete.header("Allow") == "PUT, GET")
            let big = try await send("POST", url, token: token, json: consumer(["external_id": "big", "name": String(repeating: "x", count: 4096)]))
            #expect(big.status == 413)
            #expect(try await send("GET", url + "/nobody", token: token).status == 404)
            #expect(try await send("GET", server.base + "/v4/nothing", token: token).status == 404)

            // 401 with a challenge: no token, a wrong one, a revoked one; the log never shows a token.
            for reply in [try await send("GET", url + "/42"), try await send("GET", url + "/42", token: "itk_wrong"),
                          try await send("GET", url + "/42", headers: ["Authorization": "Basic YTpi"])] {
                #expect(reply.status == 401)
                #expect(reply.header("WWW-Authenticate")?.contains("Bearer") == true)
            }
            try server.intake(["token", "revoke", "--partner", "acme", "--name", "crm"])
            #expect(try await send("GET", url + "/42", token: token).status == 401)
            #expect(!server.logText.contains(token) && !server.logText.contains("itk_wrong"))
        }
    }

    @Test(arguments: StoreKind.allCases) func partnerModesDecideWhatAPutMayDo(store: StoreKind) async throws {
        try await withAPIRoot { root in
            let server = try APIServer(root: root, settings: """
                partners:
                  upd:
                    mode: update-only
                  crt:
                    mode: create-only
                """, store: store)
            let update = try server.token("upd"), create = try server.token("crt")
            try await server.start()
            defer { server.stop() }
            let url = server.base + "/v4/consumers/7"
            #expect(try await send("PUT", url, token: update, json: consumer(["name": "x"])).status == 404)
            #expect(try await send("POST", server.base + "/v4/consumers", token: update, json: consumer(["external_id": "7"])).status == 422)
            #expect(try await send("PUT", url, token: create, json: consumer(["name": "x"])).status == 201)
            let twice = try await send("PUT", url, token: create, json: consumer(["name": "y"]))
            #expect(twice.status == 422 && twice.detail.contains("create-only"))
        }
    }

    @Test(arguments: StoreKind.allCases) func apiChangesJoinTheHistoryAndBlockAnUndoOfAnEarlierFile(store: StoreKind) async throws {
        try await withAPIRoot { root in
            let server = try APIServer(root: root, store: store)
            let token = try server.token("acme", name: "shop-backend")
            try await server.start()
            defer { server.stop() }
            let reply = try await send("POST", server.base + "/v4/imports", token: token,
                                       headers: ["Content-Type": "text/csv", "Content-Disposition": "attachment; filename=\"list.csv\""],
                                       body: Data("external_id,email,name,phone,created_at\n42,a@example.com,Ann,,\n".utf8))
            #expect(reply.status == 202, "\(reply.text)")
            let location = server.base + (reply.header("Location") ?? "")
            let done = try await eventually { try await send("GET", location, token: token).attributes["status"] as? String == "done" }
            try #require(done)
            let importID = try #require(try await send("GET", location, token: token).attributes["import_id"] as? Int)

            #expect(try await send("PUT", server.base + "/v4/consumers/42", token: token, json: consumer(["name": "Ann B"])).status == 200)
            let history = try server.intake(["history", "--partner", "acme", "--external-id", "42"])
            let lines = history.split(separator: "\n")
            #expect(lines.count == 2, "\(history)")
            #expect(lines.first?.contains("import \(importID)\tlist.csv\tcreated") == true, "\(history)")
            #expect(lines.last?.contains("PUT /v4/consumers/42 (token shop-backend)\tupdated") == true, "\(history)")

            let undo = try runChild(TestPaths.intake, ["undo", String(importID), "--root", root] + server.storeArguments)
            #expect(undo.status != 0 && undo.stdout.contains("later imports or API writes changed 1 of"), "\(undo.stdout)")
            // The API's change is not a file import: listings of files leave it out.
            let imports = try await send("GET", server.base + "/v4/imports", token: token)
            #expect((imports.json["data"] as? [Any])?.count == 1)
        }
    }

    @Test(arguments: StoreKind.allCases) func pagesWalkEveryConsumerOnceWhileOthersWrite(store: StoreKind) async throws {
        try await withAPIRoot { root in
            let server = try APIServer(root: root, store: store)
            let token = try server.token("acme")
            try await server.start()
            defer { server.stop() }
            let ids = (0..<25).map { String(format: "c%02d", $0) }
            for id in ids { #expect(try await send("PUT", server.base + "/v4/consumers/\(id)", token: token, json: consumer(["name": id])).status == 201) }
            var seen: [String] = []
            var next: String? = "/v4/consumers?page%5Bsize%5D=10"
            var pages = 0
            while let path = next {
                let page = try await send("GET", server.base + path, token: token)
                #expect(page.status == 200, "\(page.text)")
                seen += (page.json["data"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
                next = (page.json["links"] as? [String: Any])?["next"] as? String
                // Writes between pages: one before the cursor, one after.
                if pages == 0 {
                    _ = try await send("PUT", server.base + "/v4/consumers/a-early", token: token, json: consumer(["name": "early"]))
                    _ = try await send("PUT", server.base + "/v4/consumers/z-late", token: token, json: consumer(["name": "late"]))
                }
                pages += 1
            }
            #expect(seen == ids + ["z-late"])
            let badSize = try await send("GET", server.base + "/v4/consumers?page[size]=0", token: token)
            #expect(badSize.status == 400 && badSize.errors.first?["source"] as? [String: String] == ["parameter": "page[size]"])
        }
    }

    @Test(arguments: StoreKind.allCases) func concurrentPutsLoseNothingAndHistoryIsComplete(store: StoreKind) async throws {
        try await withAPIRoot { root in
            let server = try APIServer(root: root, store: store)
            let token = try server.token("acme")
            try await server.start()
            defer { server.stop() }
            let writers = 64
            let base = server.base
            let statuses = try await withThrowingTaskGroup(of: (Int, Int, Int).self) { group in
                for w in 0..<writers {
                    group.addTask {
                        // Every writer changes the shared customer once and writes 5 of its own.
                        let shared = try await send("PUT", base + "/v4/consumers/shared", token: token, json: consumer(["name": "writer \(w)"]))
                        var own = 0
                        for k in 0..<5 {
                            let reply = try await send("PUT", base + "/v4/consumers/w\(w)-\(k)", token: token, json: consumer(["name": "w\(w)"]))
                            if reply.status == 201 { own += 1 }
                        }
                        return (w, shared.status, own)
                    }
                }
                var all: [(Int, Int, Int)] = []
                for try await result in group { all.append(result) }
                return all
            }
            #expect(statuses.allSatisfy { ($0.1 == 200 || $0.1 == 201) && $0.2 == 5 }, "\(statuses)")
            #expect(try server.rows("SELECT count(*) FROM customers WHERE partner = 'acme'") == [String(1 + writers * 5)])
            let final = try server.rows("SELECT name FROM customers WHERE external_id = 'shared'").first ?? ""
            #expect((0..<writers).map { "writer \($0)" }.contains(final))
            // Every write of the shared customer is in its history: one creation and 63 updates,
            // the last of which is what is stored.
            let history = try server.intake(["history", "--partner", "acme", "--external-id", "shared"]).split(separator: "\n")
            #expect(history.count == writers, "\(history)")
            #expect(history.first?.contains("\tcreated\t") == true && history.dropFirst().allSatisfy { $0.contains("\tupdated\t") })
            #expect(history.last?.contains("\"name\":\"\(final)\"") == true)
        }
    }

    @Test(arguments: StoreKind.allCases) func aStoreHeldByAnotherWriterAnswers503WithRetryAfter(store: StoreKind) async throws {
        try await withAPIRoot { root in
            let server = try APIServer(root: root, settings: "http:\n  busy_seconds: 0.3\n", store: store)
            let token = try server.token("acme"), otherToken = try server.token("other")
            try await server.start()
            defer { server.stop() }
            // SQLite: another writer holds the database's write lock. PostgreSQL: a transaction
            // holds the partner's import lock, as a file import of acme does.
            let holder = try StoreLockHolder(server, partner: "acme")
            let busy = try await send("PUT", server.base + "/v4/consumers/1", token: token, json: consumer(["name": "x"]))
            // On PostgreSQL the lock is the partner's: another partner's write goes through
            // meanwhile. SQLite has one write lock for the whole store.
            let other = try await send("PUT", server.base + "/v4/consumers/1", token: otherToken, json: consumer(["name": "y"]))
            #expect(other.status == (store == .postgres ? 201 : 503), "\(other.text)")
            try holder.release()
            #expect(busy.status == 503 && busy.header("Retry-After") == "1", "\(busy.text)")
            // Reads go on meanwhile (WAL), and the write succeeds once the lock is gone.
            #expect(try await send("PUT", server.base + "/v4/consumers/1", token: token, json: consumer(["name": "x"])).status == 201)
        }
    }

    /// PostgreSQL reads run on the read pool's own threads: reads stuck behind a lock (or a slow
    /// network) hold none of the service's cooperative threads, and no more than the pool's 8
    /// connections read at once.
    @Test func slowPostgresReadsHoldNoThreadOfTheService() async throws {
        try await withAPIRoot { root in
            // The held reads must outlast this test's slowest step on a loaded machine.
            let server = try APIServer(root: root, settings: "http:\n  read_timeout_seconds: 600\n", store: .postgres)
            let token = try server.token("acme")
            try await server.start()
            defer { server.stop() }
            #expect(try await send("PUT", server.base + "/v4/consumers/1", token: token, json: consumer(["name": "x"])).status == 201)
            let url = try #require(server.postgresURL), port = server.port
            // Synchronous from here to the release, on a thread of its own: a full parallel test
            // run can hold this process's cooperative threads for minutes.
            let (allEightWaited, waitingWhileHealthy, health, replies) = try await onOwnThread { () throws -> (Bool, String, String, [String]) in
                // Another session holds the table, as a migration would: every customer read waits.
                let holder = try PostgresConnection(url)
                try holder.execute("BEGIN; LOCK TABLE customers IN ACCESS EXCLUSIVE MODE")
                let clients = try (0..<12).map { _ in try LoopbackSocket(port: port) }
                for client in clients {
                    try client.send("GET /v4/consumers/1 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Token token=\(token)\r\n"
                                    + "Accept: application/vnd.api+json\r\nConnection: close\r\n\r\n")
                }
                let waiting = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
                let allEightWaited = waitUntil(timeout: 300) { (try? PostgresServer.rows(url, waiting)) == ["8"] }
                // The service still answers what needs no database while 8 reads wait.
                let probe = try LoopbackSocket(port: port)
                try probe.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                let health = try probe.receiveAll()
                let count = try PostgresServer.rows(url, waiting).joined()
                try holder.execute("ROLLBACK")
                return (allEightWaited, count, health, try clients.map { try $0.receiveAll() })
            }
            #expect(allEightWaited)
            #expect(health.hasPrefix("HTTP/1.1 200"), "\(health)")
            // Twelve requests, eight connections reading: the other four waited for a thread.
            #expect(waitingWhileHealthy == "8")
            #expect(replies.allSatisfy { $0.hasPrefix("HTTP/1.1 200") && $0.contains(#""external_id":"1""#) }, "\(replies)")
        }
    }
}

/// A transaction that holds what a file import of `partner` holds, until released.
private struct StoreLockHolder {
    private let sqlite: Database?
    private let postgres: PostgresConnection?

    init(_ server: APIServer, partner: String) throws {
        if let url = server.postgresURL {
            sqlite = nil
            postgres = try PostgresConnection(url)
            try postgres?.execute("BEGIN")
            try postgres?.lockPartnerImports(partner)
        } else {
            postgres = nil
            sqlite = try server.database()
            try sqlite?.execute("BEGIN IMMEDIATE")
        }
    }

    func release() throws {
        try sqlite?.execute("ROLLBACK")
        try postgres?.execute("ROLLBACK")
    }
}

extension Result where Failure == RowRejection {
    var failureMessage: String? {
        if case .failure(let rejection) = self { return rejection.message }
        return nil
    }
}
