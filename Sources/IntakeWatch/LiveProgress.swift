import Synchronization

/// The imports running in this process and their rows so far, for the portal's progress
/// display. An import's counts reach the database only when its transaction commits, so the
/// live count comes from here; the watcher updates it every few thousand rows.
public final class LiveProgress: Sendable {
    /// One running import.
    public struct Running: Sendable, Equatable {
        public var journalEntry: Int64
        public var partner: String
        public var fileName: String
        public var rows: Int
    }

    /// The process's board: the watcher and the HTTP side run in one process.
    public static let shared = LiveProgress()

    private let running = Mutex<[Int64: Running]>([:])

    func update(_ entry: Int64, partner: String, fileName: String, rows: Int) {
        running.withLock { $0[entry] = Running(journalEntry: entry, partner: partner, fileName: fileName, rows: rows) }
    }

    func finish(_ entry: Int64) {
        _ = running.withLock { $0.removeValue(forKey: entry) }
    }

    /// What is running for `partner` (every partner's when nil).
    public func running(partner: String?) -> [Running] {
        running.withLock { Array($0.values) }.filter { partner == nil || $0.partner == partner }.sorted { $0.journalEntry < $1.journalEntry }
    }
}
