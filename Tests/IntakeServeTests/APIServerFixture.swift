import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import IntakeStore
import IntakeTestSupport
import Testing

/// A real `intake watch --http 127.0.0.1:0` child process on a temporary data root, its port read
/// from its log, and tokens made with the real `intake token create`.
final class APIServer {
    let root: String
    /// The PostgreSQL database's URL when the service runs on PostgreSQL; nil for SQLite.
    let postgresURL: String?
    private(set) var pid: pid_t = 0
    private(set) var port = 0
    private var logs: [String] = []

    init(root: String, settings: String? = nil, store: StoreKind = .sqlite) throws {
        self.root = root
        postgresURL = store == .postgres ? try PostgresServer.shared().newDatabase() : nil
        if let settings { try writeFile(root + "/settings.yaml", settings) }
        try FileManager.default.createDirectory(atPath: root + "/partners", withIntermediateDirectories: true)
    }

    /// Starts the service and waits until both the watcher and the listener are up. The wait
    /// polls on a thread of its own: the test pool has a thread per core, and other suites'
    /// in-process services need them meanwhile.
    func start() async throws {
        let log = root + "-http-\(logs.count).log"
        logs.append(log)
        let pid = try spawnChild(TestPaths.intake, ["watch", "--root", root, "--settle", "0.2", "--http", "127.0.0.1:0", "--log-level", "debug"] + storeArguments,
                                 stdout: log + ".out", stderr: log)
        self.pid = pid
        let (ready, exited, found) = try await onOwnThread { () -> (Bool, Bool, Int) in
            var exited = false
            var found = 0
            let ready = waitUntil(timeout: 180) {
                if reapIfExited(pid) != nil { exited = true }
                let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
                if let line = text.split(separator: "\n").last(where: { $0.contains("HTTP API listening on http://127.0.0.1:") }),
                   let port = line.split(separator: ":").last.flatMap({ Int($0.trimmingCharacters(in: .whitespaces)) }) {
                    found = port
                }
                return exited || (found > 0 && text.contains("] watching"))
            }
            return (ready, exited, found)
        }
        try #require(ready && !exited, "the service did not start: \(logText)")
        port = found
    }

    var logText: String { logs.map { (try? String(contentsOfFile: $0, encoding: .utf8)) ?? "" }.joined() }

    @discardableResult
    func stop(_ signal: Int32 = SIGTERM) -> Int32 { stopChild(pid, signal) }

    /// Runs `intake` with `arguments` on this root; fails the test unless it exits 0.
    @discardableResult
    func intake(_ arguments: [String]) throws -> String {
        let result = try runChild(TestPaths.intake, arguments + ["--root", root] + storeArguments)
        try #require(result.status == 0, "intake \(arguments) failed: \(result.stderr)")
        return result.stdout
    }

    /// A new token of `partner`, made by the command line.
    func token(_ partner: String, name: String = "test") throws -> String {
        try intake(["token", "create", "--partner", partner, "--name", name]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `--db` for the commands, on PostgreSQL.
    var storeArguments: [String] { postgresURL.map { ["--db", $0] } ?? [] }

    func database() throws -> Database { try Database(path: root + "/state/intake.sqlite") }

    /// The rows `sql` answers on the service's store, each as `a|b` (NULL as empty), the form
    /// psql prints: tests that look into the store run unchanged on both.
    @discardableResult
    func rows(_ sql: String) throws -> [String] {
        if let postgresURL { return try PostgresServer.rows(postgresURL, sql) }
        return try database().cachedStatement(sql).rows().map { $0.map { $0 ?? "" }.joined(separator: "|") }
    }
    func inbox(_ partner: String, check: Bool = false) -> String { root + "/partners/\(partner)/inbox" + (check ? "/check" : "") }

    /// What the partner's inbox holds (nothing when it was never made).
    func inboxEntries(_ partner: String, check: Bool = false) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: inbox(partner, check: check))) ?? []
    }

    var base: String { "http://127.0.0.1:\(port)" }
}

/// One HTTP exchange, as a real client (URLSession over libcurl) saw it.
struct Reply {
    var status: Int
    var headers: [String: String]
    var body: Data

    func header(_ name: String) -> String? {
        headers.first { $0.key.lowercased() == name.lowercased() }?.value
    }

    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
    var data: [String: Any] { json["data"] as? [String: Any] ?? [:] }
    var attributes: [String: Any] { data["attributes"] as? [String: Any] ?? [:] }
    var errors: [[String: Any]] { json["errors"] as? [[String: Any]] ?? [] }
    /// The first error's detail, or "".
    var detail: String { errors.first?["detail"] as? String ?? "" }
    var text: String { String(decoding: body, as: UTF8.self) }
}

/// Sends one request. `token` goes in the platform's `Token token=` form unless `bearer`.
func send(_ method: String, _ url: String, token: String? = nil, bearer: Bool = false, headers: [String: String] = [:],
          json: String? = nil, body: Data? = nil) async throws -> Reply {
    var request = URLRequest(url: URL(string: url)!)
    request.httpMethod = method
    request.timeoutInterval = 120
    if let token { request.setValue(bearer ? "Bearer \(token)" : "Token token=\(token)", forHTTPHeaderField: "Authorization") }
    if let json {
        request.httpBody = Data(json.utf8)
        request.setValue("application/vnd.api+json", forHTTPHeaderField: "Content-Type")
    }
    if let body { request.httpBody = body }
    for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
    let (data, response) = try await URLSession.shared.data(for: request)
    let http = response as! HTTPURLResponse
    var fields: [String: String] = [:]
    for (key, value) in http.allHeaderFields { fields["\(key)"] = "\(value)" }
    return Reply(status: http.statusCode, headers: fields, body: data)
}

/// A consumer document for POST or PUT.
func consumer(_ attributes: [String: Any]) -> String {
    let document: [String: Any] = ["data": ["type": "consumers", "attributes": attributes]]
    return String(decoding: try! JSONSerialization.data(withJSONObject: document, options: [.sortedKeys]), as: UTF8.self)
}

/// A temporary data root for one test.
func withAPIRoot<T>(_ body: (String) async throws -> T) async throws -> T {
    try await withTemporaryDirectory { dir in try await body(dir + "/root") }
}
