import CoreMetrics
import Hummingbird
import IntakeImport
import IntakeStore
import IntakeWatch

#if canImport(Glibc)
import Glibc
#endif

/// The operator's endpoints, without a token (bind the listener to loopback, or keep them off
/// the public side of the proxy, as `deploy/nginx/intake.conf` does):
/// - `GET /healthz`: the process answers (liveness);
/// - `GET /readyz`: the database can be read and written and the inbox watcher runs, else 503
///   with what is wrong (readiness);
/// - `GET /metrics`: Prometheus text exposition, the inbox backlog counted at scrape time.
struct OperationsRoutes: Sendable {
    let root: DataRoot
    /// The SQLite file; nil on a database server, whose writability a read does not tell.
    let databaseFile: String?
    let reads: any ServeReading
    let health: ServiceHealth?
    /// Renders every metric in Prometheus text format (the executable's registry); nil: no `/metrics`.
    let metrics: (@Sendable () -> [UInt8])?

    func register(on router: Router<APIContext>, routes: RouteTable) {
        router.get("/healthz") { _, _ in Self.text(.ok, "ok\n") }
        router.get("/readyz") { _, _ in await readiness() }
        routes.add(.get, "/healthz")
        routes.add(.get, "/readyz")
        if metrics != nil {
            router.get("/metrics") { _, _ in scrape() }
            routes.add(.get, "/metrics")
        }
    }

    func readiness() async -> Response {
        var problems: [String] = []
        if let health, !health.isWatching { problems.append("the inbox watcher is not running") }
        do {
            try await reads.read { store in try store.checkReadable() }
        } catch {
            problems.append("the database cannot be read: \(error)")
        }
        // Writable without taking the write lock, which a long import holds: the file and its
        // folder (for the WAL and its index) must be writable by this process.
        if let databasePath = databaseFile,
           case let folder = String(databasePath[..<(databasePath.lastIndex(of: "/") ?? databasePath.startIndex)]),
           access(databasePath, W_OK) != 0 || access(folder.isEmpty ? "." : folder, W_OK) != 0 {
            problems.append("the database \(databasePath) is not writable: \(String(cString: strerror(errno)))")
        }
        if problems.isEmpty { return Self.text(.ok, "ready\n") }
        return Self.text(.serviceUnavailable, "not ready:\n" + problems.map { "- " + $0 + "\n" }.joined())
    }

    func scrape() -> Response {
        for (partner, count) in root.inboxBacklog() {
            Gauge(label: "intake_inbox_backlog", dimensions: [("partner", partner)]).record(count)
        }
        if let health {
            Gauge(label: "intake_uptime_seconds").record(health.uptimeSeconds)
            Gauge(label: "intake_watching").record(health.isWatching ? 1 : 0)
        }
        let body = metrics?() ?? []
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }

    static func text(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(status: status, headers: [.contentType: "text/plain; charset=utf-8", .cacheControl: "no-store"],
                 body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
}
