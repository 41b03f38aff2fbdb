import ArgumentParser
import IntakeImport
import IntakeRead
import IntakeStore
import IntakeStorePostgres
import IntakeSystem
import Logging

#if canImport(Glibc)
import Glibc
#endif

struct PartnerOption: ParsableArguments {
    @Option(help: "The partner the file belongs to.")
    var partner: String = "default"

    func validate() throws {
        guard PartnerName.isValid(partner) else {
            throw ValidationError("partner names use letters, digits, '.', '_' and '-' (not starting with '.'), at most 64 characters")
        }
    }
}

/// `intake import FILE`.
struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Import one CSV or XLSX file and write its result workbook.",
        discussion: """
        Exits 0 when the file was processed, even if some rows were rejected (the result workbook \
        says which and why); exits 1 when the whole file was rejected.
        """
    )

    @Argument(help: "The file to import.")
    var file: String

    @OptionGroup var partnerOption: PartnerOption
    @OptionGroup var storage: StorageOptions

    @Option(help: "The folder for the result workbook, instead of <root>/partners/<partner>/outbox.")
    var outbox: String?

    @OptionGroup var reading: ReadingOptions

    @Option(help: "How rows meet stored customers: merge, replace, skip-existing, create-only, update-only. Default: the settings file's, else merge.")
    var mode: ImportMode?

    @Flag(help: "Read, validate and match like an import, write the result workbook, change nothing.")
    var dryRun = false

    @Option(help: "A settings file (YAML); the partner's section applies. Default: <root>/settings.yaml when it exists.")
    var config: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .warning

    func run() throws {
        let partner = partnerOption.partner
        let settings = try loadSettings(config, root: storage.dataRoot)
        var (policy, readOptions) = try settings.forPartner(partner).policy()
        if let mode { policy.mode = mode }
        policy.dryRun = dryRun
        let flags = try reading.readOptions()
        readOptions.encoding = flags.encoding ?? readOptions.encoding
        readOptions.delimiter = flags.delimiter ?? readOptions.delimiter
        let outbox = self.outbox ?? storage.dataRoot.outbox(partner)
        try FileSystem.createDirectories(outbox)
        let store = try storage.openImportStore(settingsDatabase: settings.database)
        var logger = Logger(label: "intake.import")
        logger.logLevel = logLevel
        let importer = Importer(store: store, logger: logger)
        let progress = OutputStream(fd: STDERR_FILENO)
        if isatty(STDERR_FILENO) == 1 {
            importer.progress = { rows in
                try? progress.write("\r\(rows) rows…")
                try? progress.flush()
            }
        }
        var request = ImportRequest(path: file, partner: partner, outbox: outbox, readOptions: readOptions)
        request.policy = policy
        let outcome = try importer.run(request)
        if importer.progress != nil {
            try? progress.write("\r\u{1B}[K")
            try? progress.flush()
        }
        let r = outcome.record
        if let error = outcome.fileError {
            print("import \(r.id): rejected: \(error)")
            print("result: \(outcome.resultPath)")
            throw ExitCode(1)
        }
        let skipped = r.skipped > 0 ? ", \(r.skipped) skipped" : ""
        let check = dryRun ? " (check only: nothing was changed)" : ""
        print("import \(r.id): \(r.rowsRead) rows: \(r.created) created, \(r.updated) updated, \(r.unchanged) unchanged\(skipped), \(r.rejected) rejected\(check)")
        print("result: \(outcome.resultPath)")
    }
}

/// `intake export`.
struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a partner's stored customers as JSON Lines."
    )

    @OptionGroup var partnerOption: PartnerOption
    @OptionGroup var storage: StorageOptions

    func run() throws {
        let out = OutputStream(fd: STDOUT_FILENO)
        var line = JSONWriter()
        let each = { (customer: StoredCustomer) throws in
            line.removeAll()
            line.beginObject()
            for (key, value) in [("external_id", customer.externalID), ("email", customer.email), ("name", customer.name),
                                 ("phone", customer.phone), ("created_at", customer.createdAt)] {
                line.key(key)
                line.string(value)
            }
            // Stored as JSON text that SQLite validated; embedded as is.
            line.key("custom_attributes")
            line.raw(customer.customAttributes)
            line.endObject()
            line.endLine()
            try out.write(line.bytes)
        }
        if let url = storage.postgresURL {
            try PostgresCustomers(connection: try PostgresConnection(url), partner: partnerOption.partner).forEach(each)
        } else {
            try CustomerStore(database: try storage.openDatabase(), partner: partnerOption.partner).forEach(each)
        }
        try out.flush()
    }
}

/// `intake imports`.
struct Imports: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the import history, newest first: one line per file with its counts and status."
    )

    @Option(help: "Only this partner's imports.")
    var partner: String?

    @Option(help: "How many imports to list.")
    var limit = 100

    @OptionGroup var storage: StorageOptions

    func run() throws {
        let records = if let url = storage.postgresURL {
            try PostgresImportStore(url: url).list(partner: partner, limit: limit)
        } else {
            try ImportLog(database: try storage.openDatabase()).list(partner: partner, limit: limit)
        }
        for r in records {
            var line = "\(r.id)\t\(r.startedAt)\t\(r.partner)\t\(r.fileName)\t\(r.status.rawValue)"
            line += "\tread=\(r.rowsRead) created=\(r.created) updated=\(r.updated) unchanged=\(r.unchanged) rejected=\(r.rejected)"
            if let error = r.error { line += "\terror=\(error)" }
            print(line)
        }
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

extension DataRoot {
    /// The data root a command works on: `--root`, else `$INTAKE_ROOT`, else `./var`.
    static func chosen(_ option: String?) -> DataRoot {
        DataRoot(option ?? getenv("INTAKE_ROOT").map { String(cString: $0) } ?? "./var")
    }
}
extension ImportMode: ExpressibleByArgument {}

/// The settings file: `path`, or `<root>/settings.yaml` when it exists, or the defaults.
func loadSettings(_ path: String?, root: DataRoot) throws -> Settings {
    let chosen = path ?? root.existingSettingsFile
    guard let chosen else { return Settings() }
    do { return try Settings.load(path: chosen) } catch {
        throw ValidationError("\(chosen): \(error)")
    }
}

