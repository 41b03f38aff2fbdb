import Hummingbird
import IntakeImport
import IntakeStore
import IntakeSystem
import IntakeWatch
import Logging
import NIOCore
import ServiceLifecycle

/// What the HTTP side needs from the running service.
public struct APIConfiguration: Sendable {
    public var listen: HostPort
    public var root: DataRoot
    /// The store: SQLite (the data root's file unless `--db` says otherwise) or PostgreSQL.
    public var stores: ServeStores
    public var http: Settings.HTTP
    /// The watcher's state for `/readyz` (nil: not checked, as when no watcher runs).
    public var health: ServiceHealth?
    /// Renders the process's metrics in Prometheus text format for `/metrics` (nil: no endpoint).
    public var metrics: (@Sendable () -> [UInt8])?

    public init(listen: HostPort, root: DataRoot, stores: ServeStores, http: Settings.HTTP,
                health: ServiceHealth? = nil, metrics: (@Sendable () -> [UInt8])? = nil) {
        self.listen = listen
        self.root = root
        self.stores = stores
        self.http = http
        self.health = health
        self.metrics = metrics
    }
}

/// The HTTP listener of `intake watch`: a `Service` in the same `ServiceGroup` as the watcher,
/// stopped by the same graceful shutdown. It owns the API's writer (the process's one API writer
/// connection) and its read connections, and closes them once the server has answered its last
/// request.
public struct APIService: Service {
    private let application: Application<RouterResponder<APIContext>>
    private let writes: any ServeWriting
    private let reads: any ServeReading

    /// - Parameters:
    ///   - settings: the partners' settings now in force (modes, timestamp rules, limits).
    ///   - onListening: told the bound address once the server accepts connections (port 0
    ///     picks a free one; tests and `make run` read it from here or from the log).
    public init(configuration: APIConfiguration, settings: SettingsBox, logger: Logger, clock: any TimeSource = SystemTime(),
                onListening: @escaping @Sendable (HostPort) -> Void = { _ in }) throws {
        for path in InboxUpload.removeLeftovers(root: configuration.root) {
            logger.notice("removed an upload an earlier run left unfinished", metadata: ["path": "\(path)"])
        }
        let reads = configuration.stores.reads
        self.reads = reads
        PortalPassword.prepare()
        let writes = configuration.stores.writes
        self.writes = writes
        let router = Router(context: APIContext.self)
        let routes = RouteTable()
        // Middlewares first: Hummingbird applies one to the routes added after it. Metrics
        // outermost, so they count the status the client got (requests by route, method and
        // code, with a latency histogram: Hummingbird's own middleware, through swift-metrics).
        router.add(middleware: MetricsMiddleware())
        router.add(middleware: ErrorMiddleware(routes: routes, retryAfterSeconds: max(1, Int(configuration.http.busySeconds.rounded(.up)))))
        router.add(middleware: TokenMiddleware(reads: reads))
        let partnerSettings: @Sendable (String) -> Settings.Partner = { settings.value.forPartner($0) }
        ConsumerRoutes(reads: reads, writes: writes, settings: partnerSettings, maxBodyBytes: configuration.http.maxJSONBytes, clock: clock)
            .register(on: router, routes: routes)
        let imports = ImportRoutes(root: configuration.root, reads: reads, writes: writes, settings: partnerSettings,
                                   maxUploadBytes: configuration.http.maxUploadBytes, clock: clock)
        PortalRoutes(root: configuration.root, reads: reads,
                     sessions: PortalSessions(reads: reads, writes: writes, clock: clock, idleSeconds: configuration.http.sessionIdleSeconds),
                     limiter: SignInLimiter(clock: clock), imports: imports, health: configuration.health, settings: partnerSettings, clock: clock)
            .register(on: router, routes: routes)
        OperationsRoutes(root: configuration.root, databaseFile: configuration.stores.databaseFile, reads: reads,
                         health: configuration.health, metrics: configuration.metrics)
            .register(on: router, routes: routes)
        imports.register(on: router, routes: routes)
        let listen = configuration.listen
        application = Application(
            router: router,
            configuration: ApplicationConfiguration(address: .hostname(listen.host, port: listen.port), serverName: "Intake"),
            onServerRunning: { channel in
                let bound = HostPort(host: listen.host, port: channel.localAddress?.port ?? listen.port)
                logger.info("HTTP API listening on http://\(bound)")
                onListening(bound)
            },
            logger: logger
        )
    }

    public func run() async throws {
        do { try await application.run() } catch {
            await closeWrites()
            throw error
        }
        await closeWrites()
    }

    /// Finishes the queued writes and closes the connections on a thread of its own: waiting for
    /// the committer must not hold one of the cooperative threads.
    private func closeWrites() async {
        let writes = self.writes, reads = self.reads
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            DetachedThread.start {
                writes.shutdown()
                reads.shutdown()
                done.resume()
            }
        }
    }
}

extension HostPort {
    init(host: String, port: Int) {
        self.init("\(host.contains(":") ? "[\(host)]" : host):\(port)")!
    }
}
