import IntakeImport
import IntakeStore
import Synchronization

/// How `intake watch` runs.
public struct WatchConfiguration: Sendable {
    public var root: DataRoot
    /// Seconds a closed upload must stay unchanged before it is claimed, unless the partner's
    /// settings say otherwise (`settle_seconds`).
    public var settleSeconds: Double = 5
    /// Imports of one file that may crash or time out before it is set aside as failed.
    public var maxAttempts = 3
    /// Imports of one file that may fail (the disk, the database, the workbook: never bad input)
    /// before it is set aside as failed. More than crashes: these are mostly passing trouble (a
    /// full disk, a lock held past the busy timeout), and with the retries' backoff ten take
    /// about fifty minutes, time for an operator to see the errors in the log (and `intake nodes`)
    /// and mend the cause before a good file is set aside.
    public var maxFailures = 10
    /// Seconds before the first retry of a file whose processing failed in the running service;
    /// each further retry waits twice as long, at most ten minutes.
    public var retryBaseSeconds: Double = 10
    /// Seconds one import may take before it is stopped (and counted as an attempt).
    public var importTimeoutSeconds: Double = 3600
    /// Seconds an XLSX may stay incomplete (no zip directory yet) after settling before it is
    /// imported anyway, which fails it with a clear message.
    public var incompleteTimeoutSeconds: Double = 300
    /// Watch signals that may wait unconsumed before events are dropped and a rescan follows.
    public var eventBufferLimit = 4096
    /// How often the poll thread wakes when nothing happens, to check settling files.
    public var tickMilliseconds: Int32 = 250

    /// The settings file, reloaded on SIGHUP; nil for the defaults.
    public var settingsPath: String?

    /// Opens the stores the watcher writes to, on its worker thread; nil for SQLite at the data
    /// root's database. The command line opens PostgreSQL here (`--db postgres://…`).
    public var openStores: (@Sendable () throws -> WatchStores)?

    /// Seconds between rescans of every inbox and of the journal's unfinished files; nil for
    /// none (inotify sees every change on a local disk). Nodes sharing a data root need it:
    /// inotify does not see other machines' writes on network storage, and a file a dead node
    /// left is taken up at a rescan.
    public var rescanSeconds: Double?

    /// The defaults above for the data root `root`.
    public init(root: DataRoot) { self.root = root }
}

/// The settings in force, shared by the service loop and the worker; replaced whole on reload.
public final class SettingsBox: Sendable {
    private let current: Mutex<Settings>

    /// A box holding `settings` until the first ``replace(_:)``.
    public init(_ settings: Settings) { current = Mutex(settings) }

    /// The settings now in force.
    public var value: Settings { current.withLock { $0 } }

    /// Puts `settings` in force for every file claimed from now on.
    public func replace(_ settings: Settings) { current.withLock { $0 = settings } }
}

/// The stores of one watcher: the import history and customers, and the journal.
public struct WatchStores {
    public var imports: any ImportStore
    public var journal: any JournalStore

    public init(imports: any ImportStore, journal: any JournalStore) {
        self.imports = imports
        self.journal = journal
    }
}
