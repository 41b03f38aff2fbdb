import IntakeImport
import Synchronization

/// How `intake watch` runs.
public struct WatchConfiguration: Sendable {
    public var root: DataRoot
    /// Seconds a closed upload must stay unchanged before it is claimed.
    public var settleSeconds: Double = 5
    /// Imports of one file that may crash or time out before it is set aside as failed.
    public var maxAttempts = 3
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

    public init(root: DataRoot) { self.root = root }

    var processing: String { root.state + "/processing" }
    var results: String { root.state + "/results" }
    var archive: String { root.state + "/archive" }
    var refused: String { root.state + "/refused" }
}

/// The settings in force, shared by the service loop and the worker; replaced whole on reload.
public final class SettingsBox: Sendable {
    private let current: Mutex<Settings>

    public init(_ settings: Settings) { current = Mutex(settings) }

    public var value: Settings { current.withLock { $0 } }

    public func replace(_ settings: Settings) { current.withLock { $0 = settings } }
}
