import ArgumentParser
import IntakeImport
import IntakeServe
import IntakeStore
import IntakeStorePostgres
import IntakeSystem
import IntakeWatch
import Logging
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#endif

/// `intake watch`: the file-drop service.
struct Watch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Watch every partner's inbox and import each finished upload exactly once.",
        discussion: """
        Layout under the data root: partners/<partner>/inbox/ (partners write), \
        partners/<partner>/outbox/ (result workbooks), state/ (database, processing area, archive). \
        A partner exists when partners/<partner>/inbox/ exists. SIGTERM or SIGINT stops the \
        service cleanly; a file in hand is finished or abandoned and resumes at the next start.
        """
    )

    @Option(help: "The data root. Default: $INTAKE_ROOT or ./var.")
    var root: String?

    @Option(help: "Seconds a closed upload must stay unchanged before it is imported.")
    var settle: Double = 5

    @Flag(help: "Process what is waiting (files unchanged for the settle time) and exit, for cron and tests.")
    var once = false

    @Option(help: "Imports of one file that may crash or time out before it is set aside as failed.")
    var maxAttempts = 3

    @Option(help: "Imports of one file that may fail (disk, database, workbook) before it is set aside as failed.")
    var maxFailures = 10

    @Option(help: "Seconds one file's import may take before it is stopped and retried.")
    var importTimeout: Double = 3600

    @Option(help: "Seconds an XLSX upload may stay incomplete after settling before it is failed.")
    var incompleteTimeout: Double = 300

    @Option(help: ArgumentHelp("Watch signals buffered before a rescan is forced.", visibility: .hidden))
    var eventBuffer = 4096

    @Option(help: "The settings file (YAML), reloaded on SIGHUP. Default: <root>/settings.yaml when it exists.")
    var config: String?

    @Option(help: "Serve the HTTP API on HOST:PORT (loopback unless you mean otherwise; port 0 picks a free one). Default: the settings' http.listen, else off.")
    var http: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    @Option(help: """
        The store: a PostgreSQL URL (postgres://USER@HOST:PORT/DB), shared by every node on one \
        data root, or a SQLite file. Default: the settings' database, else <root>/state/intake.sqlite.
        """)
    var db: String?

    @Option(help: "Seconds between rescans of every inbox and of files other nodes left. Default: 5 on PostgreSQL, none on SQLite; 0 turns them off.")
    var rescanInterval: Double?

    func validate() throws {
        // Zero would set every file aside without a try.
        guard maxAttempts >= 1, maxFailures >= 1 else { throw ValidationError("--max-attempts and --max-failures must be at least 1") }
    }

    func run() async throws {
        let dataRoot = DataRoot.chosen(root)
        try dataRoot.prepare()
        try FileSystem.createDirectories(dataRoot.partners)
        var configuration = WatchConfiguration(root: dataRoot)
        configuration.settleSeconds = settle
        configuration.maxAttempts = maxAttempts
        configuration.maxFailures = maxFailures
        configuration.importTimeoutSeconds = importTimeout
        configuration.incompleteTimeoutSeconds = incompleteTimeout
        configuration.eventBufferLimit = eventBuffer
        configuration.settingsPath = config ?? dataRoot.existingSettingsFile
        var logger = Logger(label: "intake.watch")
        logger.logLevel = logLevel

        let settings: Settings
        do { settings = try configuration.settingsPath.map { path throws(SettingsError) in try Settings.load(path: path) } ?? Settings() } catch {
            throw ValidationError("\(configuration.settingsPath ?? "settings"): \(error)")
        }
        let box = SettingsBox(settings)
        let store = db ?? settings.database
        var lease: NodeLease?
        defer { lease?.stop() }
        if let store, let url = serverAddress(store) {
            let node = NodeLease.newNodeID()
            lease = try NodeLease(url: url, node: node) {
                LiveProgress.shared.running(partner: nil).map { "\($0.partner)/\($0.fileName) (\($0.rows) rows)" }.first
            }
            configuration.openStores = {
                let imports = try PostgresImportStore(url: url)
                return WatchStores(imports: imports, journal: PostgresJournal(store: imports, node: node))
            }
            configuration.rescanSeconds = rescanInterval ?? 5
            logger.info("node started", metadata: ["node": "\(node)", "store": "PostgreSQL"])
        } else {
            if let path = store {
                configuration.openStores = {
                    let database = try Database(path: path)
                    return WatchStores(imports: SQLiteImportStore(database: database), journal: Journal(database: database))
                }
            }
            configuration.rescanSeconds = rescanInterval
        }
        if configuration.rescanSeconds == 0 { configuration.rescanSeconds = nil }
        if once {
            try await WatchService(configuration: configuration, settings: box, logger: logger).runOnce()
            return
        }
        let health = ServiceHealth()
        let service = WatchService(configuration: configuration, settings: box, logger: logger, observer: health.observer())
        var services: [any Service] = [service]
        if let listen = http ?? settings.http.listen {
            guard let address = HostPort(listen) else { throw ValidationError("--http must be HOST:PORT, e.g. 127.0.0.1:8080") }
            var apiLogger = Logger(label: "intake.http")
            apiLogger.logLevel = logLevel
            let registry = MetricsBootstrap.prometheus()
            let busySeconds = settings.http.busySeconds
            let stores = try store.flatMap(serverAddress).map { url in try PostgresServeStores.open(url: url, busySeconds: busySeconds, readTimeoutSeconds: settings.http.readTimeoutSeconds) }
                ?? ServeStores.sqlite(path: store ?? dataRoot.database, busySeconds: busySeconds)
            services.append(try APIService(
                configuration: APIConfiguration(listen: address, root: dataRoot, stores: stores, http: settings.http,
                                                health: health, metrics: { registry.emitToBuffer() }),
                settings: box, logger: apiLogger))
        }
        let group = ServiceGroup(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await group.run()
    }
}
