import Foundation
import IntakeTestSupport
import Testing

/// `/healthz`, `/readyz` and `/metrics` on the running service: the counters are read by value
/// after real imports, refusals and requests, from Prometheus's text format.
@Suite struct OperationsTests {
    /// `name{labels} value` lines of a scrape, keyed by everything before the value.
    func samples(_ text: String) -> [String: Double] {
        var out: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            out[String(line[..<space])] = value
        }
        return out
    }

    @Test func healthReadinessAndMetricsByValue() async throws {
        try await withAPIRoot { root in
            let server = try APIServer(root: root, settings: """
                partners:
                  slow:
                    settle_seconds: 3600
                """)
            let token = try server.token("acme")
            for partner in ["acme", "slow"] { try FileManager.default.createDirectory(atPath: server.inbox(partner), withIntermediateDirectories: true) }
            try await server.start()
            defer { server.stop() }

            #expect(try await send("GET", server.base + "/healthz").status == 200)
            let ready = try await send("GET", server.base + "/readyz")
            #expect(ready.status == 200 && ready.text == "ready\n", "\(ready.text)")

            // Two rows created and one rejected; a file rejected whole; a symbolic link refused;
            // a file that waits an hour to settle, so it is the backlog.
            try writeFile(server.inbox("acme") + "/good.csv", "external_id,email,name,phone,created_at\n1,a@example.com,A,,\n2,b@example.com,B,,\n3,nope,C,,\n")
            try writeFile(server.inbox("acme") + "/bad.csv", "external_id,email\n1,a@example.com\n")
            try FileManager.default.createSymbolicLink(atPath: server.inbox("acme") + "/link.csv", withDestinationPath: "/etc/passwd")
            try writeFile(server.inbox("slow") + "/later.csv", "external_id,email,name,phone,created_at\n1,a@example.com,A,,\n")
            // A partner whose outbox is a file: its result cannot be written, so the try fails and is retried.
            try FileManager.default.createDirectory(atPath: server.inbox("flaky"), withIntermediateDirectories: true)
            try writeFile(root + "/partners/flaky/outbox", "in the way")
            try writeFile(server.inbox("flaky") + "/list.csv", "external_id,email,name,phone,created_at\n1,a@example.com,A,,\n")
            let outbox = root + "/partners/acme/outbox"
            #expect(waitUntil { ((try? FileManager.default.contentsOfDirectory(atPath: outbox)) ?? []).filter { $0.hasSuffix(".result.xlsx") }.count == 3 })
            #expect(try await send("GET", server.base + "/v4/consumers/1", token: token).status == 200)
            #expect(try await send("GET", server.base + "/v4/consumers/1").status == 401)

            var values: [String: Double] = [:]
            // A file's counters are recorded after its result is in the outbox, as the journal ends.
            let counted = try await eventually {
                values = samples(try await send("GET", server.base + "/metrics").text)
                return values[#"intake_files_total{partner="acme",outcome="completed"}"#] == 1
                    && values[#"intake_files_refused_total{partner="acme",reason="symbolic_link"}"#] == 1
                    && (values[#"intake_file_failures_total{partner="flaky"}"#] ?? 0) >= 1
            }
            #expect(counted, "\(values.keys.sorted())")
            #expect(values[#"intake_files_total{partner="acme",outcome="rejected"}"#] == 1)
            #expect(values[#"intake_rows_total{partner="acme",status="created"}"#] == 2)
            #expect(values[#"intake_rows_total{partner="acme",status="rejected"}"#] == 1)
            #expect(values[#"intake_inbox_backlog{partner="slow"}"#] == 1)
            #expect(values[#"intake_inbox_backlog{partner="acme"}"#] == 0)
            #expect(values["intake_import_duration_seconds_count"] == 2)
            #expect(values["intake_file_size_bytes_count"] == 2, "the refused link is not imported")
            #expect(values["intake_watching"] == 1)
            #expect((values["intake_uptime_seconds"] ?? 0) > 0)
            let requests = values.filter { $0.key.hasPrefix("hb_requests{") }
            #expect(requests.contains { $0.key.contains(#"http_route="/v4/consumers/{id}""#) && $0.key.contains(#"http_response_status_code="200""#) && $0.value == 1 },
                    "\(requests)")
            #expect(requests.contains { $0.key.contains(#"http_response_status_code="401""#) && $0.value == 1 }, "\(requests)")
            #expect(values.keys.contains { $0.hasPrefix("http_server_request_duration_bucket{") }, "a latency histogram per route")
            let scrape = try await send("GET", server.base + "/metrics")
            #expect(scrape.header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8")
        }
    }
}
