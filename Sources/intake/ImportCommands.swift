import ArgumentParser
import IntakeImport
import IntakeRead
import IntakeStore
import IntakeSystem
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// Where the data lives, shared by the commands that touch the database.
struct StorageOptions: ParsableArguments {
    @Option(help: "The data root (database under state/, outboxes under partners/). Default: $INTAKE_ROOT or ./var.")
    var root: String?

    @Option(help: "The SQLite database file, instead of <root>/state/intake.sqlite.")
    var db: String?

    var dataRoot: DataRoot {
        DataRoot(root ?? getenv("INTAKE_ROOT").map { String(cString: $0) } ?? "./var")
    }

    var databasePath: String { db ?? dataRoot.database }

    func openDatabase() throws -> Database {
        if db == nil { try dataRoot.prepare() }
        return try Database(path: databasePath)
    }
}

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

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .warning

    func run() throws {
        let partner = partnerOption.partner
        let outbox = self.outbox ?? storage.dataRoot.outbox(partner)
        try FileSystem.createDirectories(outbox)
        let database = try storage.openDatabase()
        var logger = Logger(label: "intake.import")
        logger.logLevel = logLevel
        let importer = Importer(database: database, logger: logger)
        if isatty(STDERR_FILENO) == 1 {
            importer.progress = { rows in
                let line = "\r\(rows) rows…"
                _ = line.withCString { write(STDERR_FILENO, $0, strlen($0)) }
            }
        }
        let request = ImportRequest(path: file, partner: partner, outbox: outbox, readOptions: try reading.readOptions())
        let outcome = try importer.run(request)
        if importer.progress != nil { _ = "\r\u{1B}[K".withCString { write(STDERR_FILENO, $0, strlen($0)) } }
        let r = outcome.record
        if let error = outcome.fileError {
            print("import \(r.id): rejected: \(error)")
            print("result: \(outcome.resultPath)")
            throw ExitCode(1)
        }
        print("import \(r.id): \(r.rowsRead) rows: \(r.created) created, \(r.updated) updated, \(r.unchanged) unchanged, \(r.rejected) rejected")
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
        let database = try storage.openDatabase()
        let out = OutputStream(fd: STDOUT_FILENO)
        var line: [UInt8] = []
        try CustomerStore(database: database, partner: partnerOption.partner).forEach { customer in
            line.removeAll(keepingCapacity: true)
            line.append(contentsOf: "{\"external_id\":".utf8)
            JSON.appendString(customer.externalID, to: &line)
            for (key, value) in [("email", customer.email), ("name", customer.name), ("phone", customer.phone), ("created_at", customer.createdAt)] {
                line.append(contentsOf: ",\"\(key)\":".utf8)
                if let value { JSON.appendString(value, to: &line) } else { line.append(contentsOf: "null".utf8) }
            }
            // Stored as JSON text that SQLite validated; embedded as is.
            line.append(contentsOf: ",\"custom_attributes\":".utf8)
            line.append(contentsOf: customer.customAttributes.utf8)
            line.append(contentsOf: "}\n".utf8)
            try out.write(line)
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
        let database = try storage.openDatabase()
        for r in try ImportLog(database: database).list(partner: partner, limit: limit) {
            var line = "\(r.id)\t\(r.startedAt)\t\(r.partner)\t\(r.fileName)\t\(r.status.rawValue)"
            line += "\tread=\(r.rowsRead) created=\(r.created) updated=\(r.updated) unchanged=\(r.unchanged) rejected=\(r.rejected)"
            if let error = r.error { line += "\terror=\(error)" }
            print(line)
        }
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
