import Foundation
import IntakeStore
import IntakeTestSupport
import Testing

/// Files over HTTP: streamed into the inbox, imported by the watcher exactly like an SFTP
/// upload, polled through the journal; cut-off and oversized bodies leave nothing behind.
@Suite struct UploadAPITests {
    static let csv = "external_id,email,name,phone,created_at,tier\n1,a@example.com,Ann,,2018-01-01 00:11:22,gold\n2,b@example,Bob,,,\n"

    func upload(_ server: APIServer, token: String, name: String, _ text: String, query: String = "") async throws -> Reply {
        try await send("POST", server.base + "/v4/imports" + query, token: token,
                       headers: ["Content-Type": "text/csv", "Content-Disposition": "attachment; filename=\"\(name)\""], body: Data(text.utf8))
    }

    func waitUntilFinished(_ server: APIServer, _ location: String, token: String) async throws -> Reply {
        var last: Reply?
        let finished = try await eventually {
            last = try await send("GET", server.base + location, token: token)
            return !["waiting", "importing"].contains(last?.attributes["status"] as? String ?? "waiting")
        }
        try #require(finished, "\(location) never finished: \(last?.text ?? "")")
        return try #require(last)
    }

    @Test(arguments: StoreKind.allCases) func aFileSentOverHTTPIsImportedOnceAndItsResultDownloads(store: StoreKind) async throws {
        try await withAPIRoot { root in
            let server = try APIServer(root: root, store: store)
            let token = try server.token("acme")
            try await server.start()
            defer { server.stop() }

            let accepted = try await upload(server, token: token, name: "list.csv", Self.csv)
            #expect(accepted.status == 202, "\(accepted.text)")
            let location = try #require(accepted.header("Location"))
            #expect(location.hasPrefix("/v4/imports/up_") && accepted.attributes["status"] as? String == "waiting")
            let done = try await waitUntilFinished(server, location, token: token)
            #expect(done.attributes["status"] as? String == "done" && done.attributes["outcome"] as? String == "completed", "\(done.text)")
            #expect(done.attributes["rows"] as? [String: Int] == ["read": 2, "created": 1, "updated": 0, "unchanged": 0, "skipped": 0, "rejected": 1])
            let result = try await send("GET", server.base + location + "/result.xlsx", token: token)
            #expect(result.status == 200 && result.body.prefix(2) == Data("PK".utf8))
            #expect(result.header("Content-Type") == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
            let importID = try #require(done.attributes["import_id"] as? Int)
            #expect(try await send("GET", server.base + "/v4/imports/\(importID)", token: token).attributes["file_name"] as? String == "list.csv")

            // The same name again while the first is still around gets its own inbox name; a
            // form post with check=true is a dry run.
            let second = try await upload(server, token: token, name: "list.csv", Self.csv.replacingOccurrences(of: "Ann", with: "Anna"))
            let third = try await send("POST", server.base + "/v4/imports", token: token, headers: ["Content-Type": "multipart/form-data; boundary=XyZ"],
                                       body: Data("--XyZ\r\nContent-Disposition: form-data; name=\"check\"\r\n\r\ntrue\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"form.csv\"\r\nContent-Type: text/csv\r\n\r\n\(Self.csv.replacingOccurrences(of: "Ann", with: "Ann C"))\r\n--XyZ--\r\n".utf8))
            #expect(third.status == 202 && third.attributes["check"] as? Bool == true, "\(third.text)")
            let secondDone = try await waitUntilFinished(server, try #require(second.header("Location")), token: token)
            #expect(secondDone.attributes["rows"] as? [String: Int] == ["read": 2, "created": 0, "updated": 1, "unchanged": 0, "skipped": 0, "rejected": 1])
            let checked = try await waitUntilFinished(server, try #require(third.header("Location")), token: token)
            #expect(checked.attributes["outcome"] as? String == "checked", "\(checked.text)")
            #expect(try server.rows("SELECT name FROM customers") == ["Anna"])

            // Refusals before anything is stored.
            #expect(try await upload(server, token: token, name: "list.zip", "x").status == 415)
            #expect(try await upload(server, token: token, name: ".hidden.csv", "x").status == 400)
            #expect(try await upload(server, token: token, name: "empty.csv", "").status == 422)
            #expect(try await send("POST", server.base + "/v4/imports", token: token, headers: ["Content-Type": "text/csv"], body: Data("a".utf8)).status == 400)
            #expect(try await send("POST", server.base + "/v4/imports", token: token, headers: ["Content-Type": "image/png"], body: Data("a".utf8)).status == 415)
        }
    }

    /// A running server with a token for acme, acme's inbox (no `check` yet) and another
    /// partner's inbox, whose path `body` gets.
    func withAcmeAndAnotherInbox(_ body: (APIServer, String, String) async throws -> Void) async throws {
        try await withAPIRoot { root in
            let server = try APIServer(root: root)
            let token = try server.token("acme")
            try await server.start()
            defer { server.stop() }
            let other = root + "/partners/beta/inbox"
            try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: server.inbox("acme"), withIntermediateDirectories: true)
            try? FileManager.default.removeItem(atPath: server.inbox("acme", check: true))
            try await body(server, token, other)
        }
    }

    /// A partner that replaced its `inbox/check` with a link to another partner's inbox (over
    /// SFTP the deployed sshd refuses links; a partner with a shell could) gets 409 for a dry run,
    /// and nothing lands in the other inbox.
    @Test func aDryRunIntoACheckFolderReplacedByALinkIsRefused() async throws {
        try await withAcmeAndAnotherInbox { server, token, other in
            try FileManager.default.createSymbolicLink(atPath: server.inbox("acme", check: true), withDestinationPath: other)

            let refused = try await upload(server, token: token, name: "list.csv", Self.csv, query: "?check=true")
            #expect(refused.status == 409, "\(refused.text)")
            #expect(refused.text.contains("inbox/check is not a folder of its own"), "\(refused.text)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: other).isEmpty)
            // A real upload into the inbox itself still goes through.
            #expect(try await upload(server, token: token, name: "list.csv", Self.csv).status == 202)
        }
    }

    /// The same when `check` is swapped for a link while the body is on its way: the upload is
    /// refused when it would be named, lands nowhere, and leaves no `uploads` row behind.
    @Test func aCheckFolderSwappedForALinkDuringTheUploadIsRefusedAtDelivery() async throws {
        try await withAcmeAndAnotherInbox { server, token, other in
            try FileManager.default.createDirectory(atPath: server.inbox("acme", check: true), withIntermediateDirectories: true)

            let body = Self.csv + String(repeating: "3,c@example.com,C,,,\n", count: 100)
            let socket = try LoopbackSocket(port: server.port)
            defer { socket.close() }
            try socket.send("POST /v4/imports?check=true HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\nConnection: close\r\nContent-Type: text/csv\r\nContent-Disposition: attachment; filename=\"list.csv\"\r\nContent-Length: \(body.utf8.count)\r\n\r\n")
            try socket.send(String(body.prefix(40)))
            // The upload's anonymous file is open in the real check folder (the kernel names it
            // by the canonical path).
            let check = server.inbox("acme", check: true)
            let canonical = try #require(realpath(check, nil).map { pointer in defer { free(pointer) }; return String(cString: pointer) })
            try #require(await eventually {
                ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(server.pid)/fd")) ?? []).contains {
                    ((try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(server.pid)/fd/\($0)")) ?? "").hasPrefix(canonical + "/")
                }
            })
            try FileManager.default.moveItem(atPath: check, toPath: server.inbox("acme") + "/old")
            try FileManager.default.createSymbolicLink(atPath: check, withDestinationPath: other)
            try socket.send(String(body.dropFirst(40)))
            let reply = try socket.receiveAll()
            #expect(reply.hasPrefix("HTTP/1.1 409"), "\(reply)")
            #expect(reply.contains("inbox/check is not a folder of its own"), "\(reply)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: other).isEmpty)
            #expect(try server.rows("SELECT count(*) FROM uploads") == ["0"])
        }
    }

    @Test(arguments: StoreKind.allCases) func anotherPartnersImportsAndConsumersAreNotFound(store: StoreKind) async throws {
        try await withAPIRoot { root in
            let server = try APIServer(root: root, store: store)
            let a = try server.token("a"), b = try server.token("b")
            try await server.start()
            defer { server.stop() }
            #expect(try await send("PUT", server.base + "/v4/consumers/42", token: a, json: consumer(["name": "A's"])).status == 201)
            let accepted = try await upload(server, token: a, name: "a.csv", Self.csv)
            let location = try #require(accepted.header("Location"))
            let done = try await waitUntilFinished(server, location, token: a)
            let importID = try #require(done.attributes["import_id"] as? Int)

            // Every route, with B's token, on A's ids.
            for path in [location, location + "/result.xlsx", "/v4/imports/\(importID)", "/v4/imports/\(importID)/result.xlsx", "/v4/consumers/42"] {
                let reply = try await send("GET", server.base + path, token: b)
                #expect(reply.status == 404, "\(path): \(reply.status)")
            }
            #expect((try await send("GET", server.base + "/v4/imports", token: b).json["data"] as? [Any])?.isEmpty == true)
            #expect((try await send("GET", server.base + "/v4/consumers", token: b).json["data"] as? [Any])?.isEmpty == true)
            // B's PUT of the same external_id is B's own customer; A's stays as it was.
            #expect(try await send("PUT", server.base + "/v4/consumers/42", token: b, json: consumer(["name": "B's"])).status == 201)
            #expect(try await send("GET", server.base + "/v4/consumers/42", token: a).attributes["name"] as? String == "A's")
            // B's upload lands in B's inbox, never A's.
            let bUpload = try await upload(server, token: b, name: "b.csv", Self.csv)
            _ = try await waitUntilFinished(server, try #require(bUpload.header("Location")), token: b)
            let partners = try server.rows("SELECT partner, count(*) FROM imports WHERE source = 'file' GROUP BY partner ORDER BY partner")
            #expect(partners == ["a|1", "b|1"])
        }
    }

    @Test(arguments: StoreKind.allCases) func aClientThatGoesAwayMidUploadLeavesNothingBehind(store: StoreKind) async throws {
        try await withAPIRoot { root in
            let server = try APIServer(root: root, store: store)
            let token = try server.token("acme")
            try writeFile(server.inbox("acme") + "/.intake-upload-stale", "external_id\n1\n")
            try await server.start()
            defer { server.stop() }
            // What a crash between link and rename would have left is gone at start.
            #expect(!FileManager.default.fileExists(atPath: server.inbox("acme") + "/.intake-upload-stale"))
            // Headers promise 10 MB; 64 KiB arrive; the connection closes.
            let socket = try LoopbackSocket(port: server.port)
            try socket.send("POST /v4/imports HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\nContent-Type: text/csv\r\nContent-Disposition: attachment; filename=\"cut.csv\"\r\nContent-Length: 10000000\r\n\r\n")
            try socket.send(String(repeating: "1,a@example.com,A,,\n", count: 3_300))
            socket.close()
            // The service goes on: a later upload is taken and imported.
            let later = try await upload(server, token: token, name: "later.csv", Self.csv)
            _ = try await waitUntilFinished(server, try #require(later.header("Location")), token: token)
            let inbox = server.inboxEntries("acme")
            #expect(inbox.isEmpty, "\(inbox)")
            #expect(try server.rows("SELECT count(*) FROM uploads") == ["1"])
            #expect(try server.rows("SELECT count(*) FROM journal") == ["1"])
        }
    }

    @Test func aHugeUploadToASmallLimitIsRefusedBeforeItIsRead() async throws {
        try await withAPIRoot { root in
            let server = try APIServer(root: root, settings: "http:\n  max_upload_bytes: 1048576\n")
            let token = try server.token("acme")
            try await server.start()
            defer { server.stop() }
            // 2 GB that take no disk: a sparse file, sent by curl as a stream.
            let big = root + "-big.csv"
            let file = try FileDescriptorHandle(create: big)
            #expect(ftruncate(file.fd, 2 << 30) == 0)
            file.close()
            defer { try? FileManager.default.removeItem(atPath: big) }
            let curl = try runChild("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code} %{size_upload}", "-X", "POST", "-T", big,
                                                     "-H", "Authorization: Bearer \(token)", "-H", "Content-Type: text/csv",
                                                     "-H", "Content-Disposition: attachment; filename=\"big.csv\"",
                                                     server.base + "/v4/imports"])
            let parts = curl.stdout.split(separator: " ")
            #expect(parts.first == "413", "\(curl.stdout) \(curl.stderr)")
            // Refused from the declared length: far less than the file was sent.
            #expect((parts.last.flatMap { Double($0) } ?? .infinity) < 100_000_000, "\(curl.stdout)")
            #expect(server.inboxEntries("acme").isEmpty)
            // Without a declared length (chunked), the stream is cut at the limit.
            let chunked = try runChild("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", "-T", big,
                                                        "-H", "Transfer-Encoding: chunked", "-H", "Authorization: Bearer \(token)", "-H", "Content-Type: text/csv",
                                                        "-H", "Content-Disposition: attachment; filename=\"big.csv\"", server.base + "/v4/imports"])
            #expect(chunked.stdout == "413", "\(chunked.stdout) \(chunked.stderr)")
            #expect(server.inboxEntries("acme").isEmpty)

            // A chunked form whose file is small but whose other parts are not: what is not the
            // file may be at most 64 KiB, whatever room the file's 1 MiB leaves.
            let form = root + "-form.bin"
            var body = "--XyZ\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\n" + String(repeating: "x", count: 3 << 20)
            body += "\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"small.csv\"\r\nContent-Type: text/csv\r\n\r\n"
            body += Self.csv + "\r\n--XyZ--\r\n"
            try body.write(toFile: form, atomically: false, encoding: .utf8)
            defer { try? FileManager.default.removeItem(atPath: form) }
            let padded = try runChild("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", "-T", form,
                                                       "-H", "Transfer-Encoding: chunked", "-H", "Authorization: Bearer \(token)",
                                                       "-H", "Content-Type: multipart/form-data; boundary=XyZ", server.base + "/v4/imports"])
            #expect(padded.stdout == "413", "\(padded.stdout) \(padded.stderr)")
            #expect(server.inboxEntries("acme").isEmpty)
        }
    }

    @Test(arguments: StoreKind.allCases) func everyAcknowledgedPutSurvivesAKill9(store: StoreKind) async throws {
        try await withAPIRoot { root in
            let server = try APIServer(root: root, store: store)
            let token = try server.token("acme")
            try await server.start()
            let base = server.base
            let pid = server.pid
            // 16 clients write distinct ids until the service dies under them.
            let acknowledged = await withTaskGroup(of: [String].self) { group in
                for client in 0..<16 {
                    group.addTask {
                        var acked: [String] = []
                        for n in 0..<10_000 {
                            let id = "k\(client)-\(n)"
                            guard let reply = try? await send("PUT", base + "/v4/consumers/\(id)", token: token, json: consumer(["name": id])),
                                  reply.status == 201 else { break }
                            acked.append(id)
                            if client == 0 && n == 40 { kill(pid, SIGKILL) }
                        }
                        return acked
                    }
                }
                var all: [String] = []
                for await ids in group { all += ids }
                return all
            }
            var status: Int32 = 0
            waitpid(pid, &status, 0)
            #expect(acknowledged.count > 40)
            let stored = Set(try server.rows("SELECT name FROM customers"))
            let lost = acknowledged.filter { !stored.contains($0) }
            #expect(lost.isEmpty, "acknowledged but lost: \(lost.prefix(10))")
            // The restarted service serves them.
            try await server.start()
            defer { server.stop() }
            #expect(try await send("GET", server.base + "/v4/consumers/k0-40", token: token).status == 200)
        }
    }
}

/// A raw TCP client, for what URLSession will not do: send half a body and hang up.
final class LoopbackSocket {
    private var fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard rc == 0 else { throw TestFailure("connect failed: \(errno)") }
        // A server that never answers fails the test instead of hanging the run.
        var timeout = timeval(tv_sec: 300, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    func send(_ text: String) throws {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let sent = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { throw TestFailure("send failed: \(errno)") }
            bytes = bytes.dropFirst(sent)
        }
    }

    /// Everything the server sends until it closes the connection (blocks).
    func receiveAll() throws -> String {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { break }
            if n < 0 {
                if errno == EINTR { continue }
                throw TestFailure("recv failed: \(errno)")
            }
            received += buffer[..<n]
        }
        return String(decoding: received, as: UTF8.self)
    }

    func close() {
        _ = Glibc.close(fd)
        fd = -1
    }

    deinit { if fd >= 0 { _ = Glibc.close(fd) } }
}

/// A plain descriptor for making a sparse file.
final class FileDescriptorHandle {
    let fd: Int32
    init(create path: String) throws {
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw TestFailure("open \(path) failed: \(errno)") }
    }
    func close() { _ = Glibc.close(fd) }
}
