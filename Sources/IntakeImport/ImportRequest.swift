import IntakeRead
import IntakeReport
import IntakeStore
import IntakeSystem
import IntakeValidate

/// How a partner's files are imported (see ``Settings``).
public struct ImportPolicy: Sendable {
    public var mode: ImportMode = .merge
    /// Header aliases: the partner's column name (any case) → a required column or attribute key.
    public var columnAliases: [String: String] = [:]
    /// The partner's `created_at` formats and time zone; nil for the defaults.
    public var timestamps: TimestampRules?
    /// Limits; a file over one is rejected with a result workbook naming it.
    public var maxBytes: Int64?
    public var maxRows: Int?
    /// Seconds one file may take, reading included; one bad file never holds the worker for
    /// long (a workbook of millions of empty cells, say).
    public var maxSeconds: Double = ImportPolicy.defaultMaxSeconds

    /// The time budget of a file when the settings give none: a million-row workbook imports in
    /// well under a minute.
    public static let defaultMaxSeconds: Double = 600
    /// Read, validate and match exactly like an import, then roll back: nothing in `customers` changes.
    public var dryRun = false
    /// Whether the result workbook's Rows sheet lists unchanged rows too (`result_rows: all`).
    /// By default they are only counted: a nightly re-send of a million customers would
    /// otherwise get a million lines that say nothing, and pay most of the workbook's time for them.
    public var listUnchangedRows = false

    /// Merge mode, no aliases, default timestamps, no limits, for real.
    public init() {}
}

/// One file to import.
public struct ImportRequest: Sendable {
    /// Where the file is now (for the watcher, its claimed copy in the processing area).
    public var path: String
    /// The name the partner gave it, used in messages, the history and the result's name.
    public var fileName: String
    public var partner: String
    /// The folder the result workbook goes to.
    public var outbox: String
    public var readOptions: ReadOptions
    /// Where the result workbook is written before the commit; by default a temporary name in the
    /// outbox. The watcher uses a stable path in its state folder, so that a restart after the
    /// commit finds the finished workbook and only has to move it.
    public var resultScratchPath: String?
    /// Refuse content this partner already imported (the watcher's exactly-once rule); a CLI
    /// re-import is allowed and reports every row unchanged.
    public var rejectDuplicateContent = false
    public var policy = ImportPolicy()

    /// A request for the file at `path`; `fileName` defaults to its last path component.
    public init(path: String, fileName: String? = nil, partner: String, outbox: String, readOptions: ReadOptions = ReadOptions()) {
        self.path = path
        self.fileName = fileName ?? FileSystem.baseName(of: path)
        self.partner = partner
        self.outbox = outbox
        self.readOptions = readOptions
        self.readOptions.displayName = self.fileName
    }
}

/// What became of a file.
public struct ImportOutcome: Sendable {
    public var record: ImportRecord
    /// The result workbook in the outbox.
    public var resultPath: String
    /// Rows found unchanged by their digest alone (see ``StoredDigests``), neither validated
    /// nor compared: part of `record`'s unchanged count.
    public var rowsMatchedByDigest = 0
    /// Whether the stored digests were read into memory because the file's ids came in no
    /// particular order (see ``StoredDigests``).
    public var digestsReadIntoMemory = false
    public var importID: Int64 { record.id }
    /// Why the whole file was rejected; nil when it was processed (even with rejected rows).
    public var fileError: String? { record.status == .completed || record.status == .checked ? nil : record.error }
}

/// Why a caller stopped an import part-way (see ``ImportHooks/shouldStop``).
public enum StopReason: String, Sendable {
    /// The service is shutting down; the import resumes at the next start.
    case shutdown
    /// The import took longer than the service allows one file; it counts as a failed attempt.
    case timeout
}

/// Infrastructure failures (disk, database) and stops; bad input never throws, it is reported.
public enum ImportFailure: Error, CustomStringConvertible {
    case system(SystemError)
    case database(SQLiteError)
    /// A failure of another store (PostgreSQL), with its own typed error.
    case store(any StoreError)
    case report(ReportError)
    /// ``ImportHooks/shouldStop`` asked to stop; nothing was committed.
    case stopped(StopReason)
    /// A failure of a caller's hook or another unexpected error, described.
    case other(String)

    /// `error` as the failure it is: a lower layer's typed error keeps its case.
    public init(_ error: any Error) {
        switch error {
        case let e as ImportFailure: self = e
        case let e as SQLiteError: self = .database(e)
        case let e as any StoreError: self = .store(e)
        case let e as SystemError: self = .system(e)
        case let e as ReportError: self = .report(e)
        default: self = .other("import failed: \(error)")
        }
    }

    public var description: String {
        switch self {
        case .system(let e): return e.description
        case .database(let e): return e.description
        case .store(let e): return e.description
        case .report(let e): return e.description
        case .stopped(let reason): return "stopped: \(reason.rawValue)"
        case .other(let text): return text
        }
    }
}

/// How a caller takes part in an import without the importer knowing about it.
public struct ImportHooks {
    /// Runs inside the import's transaction once the `imports` row is final (for every outcome:
    /// completed, rejected, duplicate), so the caller's own bookkeeping commits with it.
    public var inTransaction: ((ImportRecord) throws -> Void)?
    /// Asked every few thousand rows; a reason aborts the import and rolls it back.
    public var shouldStop: (() -> StopReason?)?
    /// Told the rows read so far, every few thousand rows (for a progress display).
    public var rowsSoFar: ((Int) -> Void)?

    /// Hooks that do nothing unless given: no bookkeeping in the transaction, and no early stop.
    public init(inTransaction: ((ImportRecord) throws -> Void)? = nil, shouldStop: (() -> StopReason?)? = nil,
                rowsSoFar: ((Int) -> Void)? = nil) {
        self.inTransaction = inTransaction
        self.shouldStop = shouldStop
        self.rowsSoFar = rowsSoFar
    }
}
