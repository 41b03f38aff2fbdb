import Foundation
import IntakeTestSupport
import Testing

/// The API behind Debian's nginx with TLS, as deployed (deploy/nginx/intake.conf), and the
/// committed OpenAPI document checked against the live service by schemathesis.
@Suite struct ProxyAndContractTests {
    static let nginx = "/usr/sbin/nginx"
    static let schemathesis = TestPaths.packageRoot + "/.build-venv/bin/schemathesis"

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: nginx) && FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl"),
                   "needs nginx and openssl (make test installs them)"))
    func anAPICallThroughNginxWithTLS() async throws {
        try await withAPIRoot { root in
            let server = try APIServer(root: root)
            let token = try server.token("acme")
            try await server.start()
            defer { server.stop() }

            let dir = root + "-nginx"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            // A throwaway certificate for 127.0.0.1, which curl then verifies for real.
            let cert = try runChild("/usr/bin/openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                                                         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", dir + "/key.pem", "-out", dir + "/cert.pem"])
            try #require(cert.status == 0, "\(cert.stderr)")
            // The committed site, pointed at this test's ports and files.
            let https = try freeLoopbackPort(), http = try freeLoopbackPort()
            var site = try String(contentsOfFile: TestPaths.packageRoot + "/deploy/nginx/intake.conf", encoding: .utf8)
            for (from, to) in [("server 127.0.0.1:8080;", "server 127.0.0.1:\(server.port);"),
                               ("listen 443 ssl;", "listen 127.0.0.1:\(https) ssl;"), ("listen [::]:443 ssl;", ""),
                               ("listen 80;", "listen 127.0.0.1:\(http);"), ("listen [::]:80;", ""),
                               ("/etc/ssl/certs/intake.example.com.pem", dir + "/cert.pem"),
                               ("/etc/ssl/private/intake.example.com.key", dir + "/key.pem")] {
                try #require(site.contains(from), "deploy/nginx/intake.conf no longer has \(from)")
                site = site.replacingOccurrences(of: from, with: to)
            }
            try writeFile(dir + "/site.conf", site)
            try writeFile(dir + "/nginx.conf", """
                daemon off;
                master_process off;
                pid \(dir)/nginx.pid;
                error_log \(dir)/error.log info;
                events { worker_connections 64; }
                http {
                    access_log \(dir)/access.log;
                    client_body_temp_path \(dir)/body;
                    proxy_temp_path \(dir)/proxy;
                    fastcgi_temp_path \(dir)/fastcgi;
                    uwsgi_temp_path \(dir)/uwsgi;
                    scgi_temp_path \(dir)/scgi;
                    include \(dir)/site.conf;
                }
                """)
            let pid = try spawnChild(Self.nginx, ["-c", dir + "/nginx.conf", "-p", dir], stdout: dir + "/out.log", stderr: dir + "/err.log")
            defer { stopChild(pid, SIGTERM) }
            let curlBase = ["-s", "--cacert", dir + "/cert.pem", "-H", "Authorization: Bearer \(token)"]
            let ready = waitUntil(timeout: 60) {
                (try? runChild("/usr/bin/curl", curlBase + ["-o", "/dev/null", "-w", "%{http_code}", "https://127.0.0.1:\(https)/v4/consumers"]))?.stdout == "200"
                    || reapIfExited(pid) != nil
            }
            try #require(ready && reapIfExited(pid) == nil, "nginx did not start: \((try? String(contentsOfFile: dir + "/err.log", encoding: .utf8)) ?? "")")

            let put = try runChild("/usr/bin/curl", curlBase + ["-w", "\n%{http_code}", "-X", "PUT", "-H", "Content-Type: application/vnd.api+json",
                                                                "--data", consumer(["email": "via@proxy.example"]),
                                                                "https://127.0.0.1:\(https)/v4/consumers/p1"])
            #expect(put.stdout.hasSuffix("\n201"), "\(put.stdout) \(put.stderr)")
            #expect(put.stdout.contains("via@proxy.example"))
            // Plain HTTP is sent to HTTPS.
            let plain = try runChild("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", "http://127.0.0.1:\(http)/v4/consumers"])
            #expect(plain.stdout.hasPrefix("301 https://"), "\(plain.stdout)")
            #expect(try server.database().scalar("SELECT count(*) FROM customers WHERE external_id = 'p1'") == 1)
            // The operator's endpoints are not public behind the proxy; on loopback they answer.
            for path in ["/metrics", "/healthz", "/readyz"] {
                let outside = try runChild("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", dir + "/cert.pem", "https://127.0.0.1:\(https)" + path])
                #expect(outside.stdout == "404", "\(path) through nginx: \(outside.stdout)")
                #expect(try await send("GET", server.base + path).status == 200, "\(path) on loopback")
            }
        }
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: schemathesis), "needs the test venv with schemathesis (make test makes it)"))
    func theOpenAPIDocumentHoldsForTheLiveService() async throws {
        try await withAPIRoot { root in
            let server = try APIServer(root: root)
            let token = try server.token("acme")
            try await server.start()
            defer { server.stop() }
            // Bounded and seeded, so a run is repeatable. Every documented check runs except
            // positive_data_acceptance: the file rules (what an email, phone or date must look
            // like, .csv or .xlsx names) are not expressible in JSON Schema, so schema-valid data
            // the rules refuse gets its documented 422/415/400, which that check counts as a failure.
            let run = try runChild(Self.schemathesis, [
                "run", TestPaths.packageRoot + "/deploy/openapi.yaml", "--url", server.base,
                "-H", "Authorization: Bearer \(token)", "--max-examples", "25", "--seed", "20261130",
                "--exclude-checks", "positive_data_acceptance", "--request-timeout", "30",
            ], environment: ["SCHEMATHESIS_HOOKS": "", "NO_COLOR": "1"])
            #expect(run.status == 0, "schemathesis found problems:\n\(run.stdout.suffix(6000))\n\(run.stderr.suffix(2000))")
            #expect(!server.logText.contains("request failed"), "a request failed inside Intake:\n\(server.logText.suffix(4000))")
        }
    }
}

