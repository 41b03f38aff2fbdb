import Foundation
import IntakeStore
import IntakeSystem
import IntakeTestSupport
import Testing

/// A real `intake watch` child process on a temporary data root.
final class Daemon {
    let root: String
    let arguments: [String]
    private(set) var pid: pid_t = 0
    /// One stderr file per run, so restarts never mix their logs.
    private var runLogs: [String] = []
    private let logPrefix: String

    init(root: String, arguments: [String] = []) {
        self.root = root
        self.arguments = arguments
        logPrefix = root + "-daemon-\(UUID().uuidString.prefix(8))"
    }

    /// Starts the daemon and waits until it reports that its watches are set.
    func start() throws {
        let log = "\(logPrefix)-\(runLogs.count).log"
        runLogs.append(log)
        let pid = try spawnChild(TestPaths.intake, ["watch", "--root", root, "--settle", "0.2", "--log-level", "debug"] + arguments,
                                 stdout: log + ".out", stderr: log)
        self.pid = pid
        var exited = false
        let ready = waitUntil(timeout: 180) {
            if reapIfExited(pid) != nil { exited = true }
            return exited || ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("] watching")
        }
        try #require(ready && !exited, "the daemon did not start: \(logText)")
    }

    /// Every run's log, in order.
    var logText: String {
        runLogs.map { (try? String(contentsOfFile: $0, encoding: .utf8)) ?? "" }.joined()
    }

    /// Sends `signal` and waits for the process to end; returns its wait status.
    @discardableResult
    func stop(_ signal: Int32 = SIGTERM) -> Int32 { stopChild(pid, signal) }

    /// Waits until the daemon logs that it finished `file` (result written and source archived).
    func waitForDone(_ file: String, timeout: Double = 180) throws {
        let ok = waitUntil(timeout: timeout) {
            logText.split(separator: "\n").contains { $0.contains("file done") && $0.contains("file=\(file) ") }
        }
        try #require(ok, "\(file) was not finished; log:\n\(logText.suffix(4000))")
    }

    func inbox(_ partner: String) -> String { root + "/partners/\(partner)/inbox" }
    func outbox(_ partner: String) -> String { root + "/partners/\(partner)/outbox" }

    func addPartner(_ partner: String) throws {
        try FileManager.default.createDirectory(atPath: inbox(partner), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: outbox(partner), withIntermediateDirectories: true)
    }

    /// Result workbooks in a partner's outbox (finished ones only, not temporary names).
    func results(_ partner: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: outbox(partner))) ?? []).filter { $0.hasSuffix(".result.xlsx") && !$0.hasPrefix(".") }.sorted()
    }

    func result(_ partner: String, for stem: String) -> String? {
        results(partner).first { $0.hasPrefix(stem + ".import-") }.map { outbox(partner) + "/" + $0 }
    }

    func database() throws -> Database { try Database(path: root + "/state/intake.sqlite") }

    /// Waits for the result of `stem` in the partner's outbox.
    @discardableResult
    func waitForResult(_ partner: String, _ stem: String, timeout: Double = 180) throws -> String {
        var found: String?
        let ok = waitUntil(timeout: timeout) {
            found = result(partner, for: stem)
            return found != nil
        }
        try #require(ok, "no result for \(stem) in \(partner)'s outbox; log:\n\(logText.suffix(4000))")
        return found!
    }
}

func withDaemonRoot<T>(_ body: (String) throws -> T) throws -> T {
    try withTemporaryDirectory { dir in try body(dir + "/var") }
}

/// A started daemon with partner `acme`, stopped (SIGTERM) when `body` returns.
func withRunningDaemon<T>(arguments: [String] = [], _ body: (Daemon, String) throws -> T) throws -> T {
    try withDaemonRoot { root in
        let daemon = Daemon(root: root, arguments: arguments)
        try daemon.addPartner("acme")
        try daemon.start()
        defer { daemon.stop() }
        return try body(daemon, root)
    }
}

/// A CSV with `count` customers whose ids start at `first`.
func customersCSV(prefix: String, first: Int = 0, count: Int, name: String = "Name") -> String {
    var text = "external_id,email,name,phone,created_at,segment\n"
    for i in first..<(first + count) { text += "\(prefix)-\(i),u\(i)@example.com,\(name) \(i),+7900\(String(1_000_000 + i)),2018-01-01 00:11:22,s\(i % 5)\n" }
    return text
}

/// Writes `text` to `dir/name` via a temporary name and a rename, as a careful uploader does.
func drop(_ text: String, into dir: String, as name: String) throws {
    let temp = dir + "/." + name + ".partial"
    try writeClosingOnExec(text, to: temp)
    try FileManager.default.moveItem(atPath: temp, toPath: dir + "/" + name)
}

/// Writes a file through a close-on-exec descriptor. Foundation's `write(toFile:)` leaves its
/// descriptor inheritable: a child that another test spawns at that moment keeps the file open for
/// writing, so no lease is granted and the watcher rightly leaves the file for later (seen once in
/// a full parallel run, where `watch --once` then found nothing to import).
func writeClosingOnExec(_ text: String, to path: String) throws {
    let file = try FileDescriptor(opening: path, flags: O_WRONLY | O_CREAT | O_TRUNC)
    try file.writeAll(Array(text.utf8))
}
