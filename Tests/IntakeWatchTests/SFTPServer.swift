import Foundation
import IntakeStore
import IntakeTestSupport
import IntakeSystem
import Testing

@testable import IntakeWatch

/// A real OpenSSH sshd on a loopback port with the deploy snippet, one partner account made by
/// deploy/intake-add-partner, and the watcher running on its data root: the setup every SFTP
/// test shares. Needs root (a system account, a chroot) and openssh-server/-client.
final class SFTPServer {
    let partner = "itest\(Int.random(in: 100_000...999_999))"
    /// sshd's chroot wants every folder on the path root-owned and not group- or world-writable,
    /// which rules out /tmp; /srv is root's and 0755 on Debian.
    let base = "/srv/intake-sftp-test-\(UUID().uuidString.prefix(8))"
    var root: String { base + "/var" }
    var keys: String { base + "/keys" }
    var ssh: String { base + "/ssh" }
    var clientKey: String { ssh + "/client" }
    private(set) var port = 0
    private var sshd: pid_t = 0
    let daemon: Daemon

    /// Everything but the daemon's start: `settings` is the partner's YAML section, if any.
    init(settings: String? = nil) throws {
        daemon = Daemon(root: base + "/var")
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        try FileManager.default.createDirectory(atPath: ssh, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        for key in ["host", "client"] {
            let made = try runChild("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", "\(ssh)/\(key)"])
            try #require(made.status == 0, "\(made.stderr)")
        }
        let added = try runChild(TestPaths.packageRoot + "/deploy/intake-add-partner",
                                 ["--root", root, "--keys-dir", keys, "--service-user", "root", partner, "\(ssh)/client.pub"])
        try #require(added.status == 0, "\(added.stdout)\(added.stderr)")
        if let settings {
            try "partners:\n  \(partner):\n\(settings)".write(toFile: root + "/settings.yaml", atomically: true, encoding: .utf8)
        }

        port = try freeLoopbackPort()
        let snippet = try String(contentsOfFile: TestPaths.packageRoot + "/deploy/sshd_config.d/intake-sftp.conf", encoding: .utf8)
            .replacingOccurrences(of: "/var/lib/intake", with: root)
            .replacingOccurrences(of: "/etc/ssh/intake-keys", with: keys)
        try """
        Port \(port)
        ListenAddress 127.0.0.1
        HostKey \(ssh)/host
        PidFile \(ssh)/sshd.pid
        UsePAM no
        PasswordAuthentication no
        PubkeyAuthentication yes
        LogLevel DEBUG1
        Subsystem sftp internal-sftp -l DEBUG1
        \(snippet.replacingOccurrences(of: "ForceCommand internal-sftp -u 0027", with: "ForceCommand internal-sftp -u 0027 -l DEBUG1"))
        """.write(toFile: "\(ssh)/sshd_config", atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        let log = "\(ssh)/sshd.log"
        sshd = try spawnChild("/usr/sbin/sshd", ["-D", "-e", "-f", "\(ssh)/sshd_config"], stdout: log + ".out", stderr: log)
        try #require(waitUntil(timeout: 30) { self.sshdLog.contains("Server listening") }, "sshd did not start: \(sshdLog)")
        try daemon.start()
    }

    /// What sshd (and its SFTP subsystem, at DEBUG1: every open, rename and link) logged.
    var sshdLog: String { (try? String(contentsOfFile: "\(ssh)/sshd.log", encoding: .utf8)) ?? "" }

    var inbox: String { root + "/partners/\(partner)/inbox" }

    /// The options every OpenSSH-based client needs here.
    var sshOptions: [String] {
        ["-i", clientKey, "-P", "\(port)", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes"]
    }

    /// Runs an `sftp` batch as the partner.
    func sftp(_ commands: String, extra: [String] = []) throws -> ChildResult {
        let batch = "\(ssh)/batch-\(UUID().uuidString.prefix(6))"
        try commands.write(toFile: batch, atomically: true, encoding: .utf8)
        return try runChild("/usr/bin/sftp", ["-b", batch] + sshOptions + extra + ["\(partner)@127.0.0.1"])
    }

    /// Downloads result `name` from the outbox by SFTP and returns its Summary as label → value.
    func downloadedSummary(_ name: String) throws -> [String: String] {
        let local = "\(ssh)/\(UUID().uuidString.prefix(6))-result.xlsx"
        let get = try sftp("get outbox/\(name) \(local)\n")
        try #require(get.status == 0, "sftp get failed: \(get.stderr)")
        return try summary(local)
    }

    /// Waits for the one result of `stem`, then checks the import happened exactly once with
    /// `rows` created; returns the seconds from `since` to the result and its Summary.
    @discardableResult
    func expectImportedOnce(_ stem: String, rows: Int, since: Date, file: String? = nil) throws -> (seconds: Double, summary: [String: String]) {
        let result = try daemon.waitForResult(partner, stem, timeout: 60)
        let seconds = Date().timeIntervalSince(since)
        let facts = try downloadedSummary((result as NSString).lastPathComponent)
        #expect(facts["Created"] == "\(rows)", "\(facts)")
        if let file { #expect(facts["Source file"] == file) }
        let db = try daemon.database()
        #expect(try db.scalar("SELECT count(*) FROM imports WHERE partner = ?1 AND status = 'completed'", [.text(partner)]) == 1, "exactly once")
        #expect(try db.scalar("SELECT count(*) FROM customers WHERE partner = ?1", [.text(partner)]) == Int64(rows))
        return (seconds, facts)
    }

    func stop() {
        daemon.stop()
        if sshd > 0 {
            kill(sshd, SIGTERM)
            var status: Int32 = 0
            waitpid(sshd, &status, 0)
        }
        _ = try? runChild("/usr/sbin/userdel", [partner])
        _ = try? runChild("/usr/sbin/groupdel", [partner])
        try? FileManager.default.removeItem(atPath: base)
    }
}

/// Runs `body` with a fresh SFTP server and watcher, always torn down.
func withSFTPServer<T>(settings: String? = nil, _ body: (SFTPServer) throws -> T) throws -> T {
    let server = try SFTPServer(settings: settings)
    defer { server.stop() }
    return try body(server)
}

/// The same, on a thread of its own: an SFTP test blocks for seconds on child processes (sshd,
/// the clients, the daemon), which must not hold one of the test process's cooperative threads,
/// one per core, that the in-process tests need meanwhile.
func withSFTPServer<T: Sendable>(settings: String? = nil, _ body: @escaping @Sendable (SFTPServer) throws -> T) async throws -> T {
    try await onOwnThread { try withSFTPServer(settings: settings, body) }
}

/// Whether this machine can run the SFTP tests: root, and OpenSSH's server.
let canRunSFTP = getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/sbin/sshd")

/// What inotify reports for a folder while a client uploads: the evidence of what a client (and
/// OpenSSH's server) really did on the file system. The kernel queues the events until ``lines``
/// reads them, so no thread is needed.
final class FolderEvents {
    private let inotify: IntakeSystem.FileDescriptor
    private var seen: [InotifyEvent] = []

    init(_ folder: String) throws {
        inotify = IntakeSystem.FileDescriptor(adopting: try syscall("inotify_init1") { inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC)) }, path: "inotify")
        _ = try syscall("inotify_add_watch", folder) {
            inotify_add_watch(inotify.rawValue, folder, UInt32(IN_CREATE | IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE))
        }
    }

    /// The events so far, as `EVENT name` lines (`CREATE`, `CLOSE_WRITE`, `MOVED_TO`, ...).
    var lines: [String] {
        let buffer = ChunkBuffer(count: 64 << 10)
        while let n = try? inotify.read(into: buffer.raw), n > 0 { seen += InotifyEvent.parse(buffer.prefix(n)) }
        let kinds = [(IN_CREATE, "CREATE"), (IN_CLOSE_WRITE, "CLOSE_WRITE"), (IN_MOVED_FROM, "MOVED_FROM"), (IN_MOVED_TO, "MOVED_TO"), (IN_DELETE, "DELETE")]
        return seen.map { event in kinds.filter { event.mask & UInt32($0.0) != 0 }.map(\.1).joined(separator: "|") + " " + event.name }
    }

}
