import Foundation
import IntakeRead
import IntakeStore
import IntakeTestSupport
import Testing

/// A real OpenSSH sshd on a loopback port, a partner account made by deploy/intake-add-partner,
/// the sshd snippet from deploy/, and the `sftp` client uploading and downloading.
///
/// Needs root (a system account, a chroot) and openssh-server/-client, which `make test` installs.
@Suite(.enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/sbin/sshd"), "needs root and /usr/sbin/sshd"))
struct SFTPTests {
    @Test func partnerUploadsAndDownloadsItsResult() throws {
        let partner = "itest\(Int.random(in: 100_000...999_999))"
        // sshd's chroot wants every folder on the path root-owned and not group- or world-writable,
        // which rules out /tmp; /srv is root's and 0755 on Debian.
        let base = "/srv/intake-sftp-test-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        defer {
            _ = try? runChild("/usr/sbin/userdel", [partner])
            _ = try? runChild("/usr/sbin/groupdel", [partner])
            try? FileManager.default.removeItem(atPath: base)
        }
        let root = base + "/var", keys = base + "/keys", ssh = base + "/ssh"
        try FileManager.default.createDirectory(atPath: ssh, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])

        // Keys: a throwaway host key and the partner's client key.
        for key in ["host", "client"] {
            let made = try runChild("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", "\(ssh)/\(key)"])
            try #require(made.status == 0, "\(made.stderr)")
        }
        let added = try runChild(TestPaths.packageRoot + "/deploy/intake-add-partner",
                                 ["--root", root, "--keys-dir", keys, "--service-user", "root", partner, "\(ssh)/client.pub"])
        try #require(added.status == 0, "\(added.stdout)\(added.stderr)")

        // sshd: the deploy snippet with this test's paths, on a free loopback port.
        let port = try freeLoopbackPort()
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
        LogLevel VERBOSE
        Subsystem sftp internal-sftp
        \(snippet)
        """.write(toFile: "\(ssh)/sshd_config", atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        let sshdLog = "\(ssh)/sshd.log"
        let sshd = try spawnChild("/usr/sbin/sshd", ["-D", "-e", "-f", "\(ssh)/sshd_config"], stdout: sshdLog + ".out", stderr: sshdLog)
        defer { kill(sshd, SIGTERM); var s: Int32 = 0; waitpid(sshd, &s, 0) }
        try #require(waitUntil(timeout: 30) { ((try? String(contentsOfFile: sshdLog, encoding: .utf8)) ?? "").contains("Server listening") },
                     "sshd did not start: \((try? String(contentsOfFile: sshdLog, encoding: .utf8)) ?? "")")

        let daemon = Daemon(root: root)
        try daemon.start()
        defer { daemon.stop() }

        func sftp(_ commands: String) throws -> ChildResult {
            try commands.write(toFile: "\(ssh)/batch", atomically: true, encoding: .utf8)
            return try runChild("/usr/bin/sftp", [
                "-b", "\(ssh)/batch", "-i", "\(ssh)/client", "-P", "\(port)",
                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
                "\(partner)@127.0.0.1",
            ])
        }

        let upload = "\(ssh)/customers-2024-05.csv"
        try customersCSV(prefix: "SFTP", count: 25).write(toFile: upload, atomically: true, encoding: .utf8)
        let put = try sftp("put \(upload) inbox/customers-2024-05.csv\n")
        try #require(put.status == 0, "sftp put failed: \(put.stderr)")

        // The partner sees only its own folder, and cannot write its outbox.
        let listing = try sftp("ls -1 /\n")
        #expect(listing.stdout.contains("inbox") && listing.stdout.contains("outbox"))
        #expect(!listing.stdout.contains("state") && !listing.stdout.contains("partners"))
        let sneaky = try sftp("put \(upload) outbox/fake.result.xlsx\n")
        #expect(sneaky.status != 0, "the outbox must be read-only for the partner")

        try daemon.waitForResult(partner, "customers-2024-05")
        let resultName = try #require(daemon.results(partner).first)
        let download = "\(ssh)/downloaded.xlsx"
        let get = try sftp("get outbox/\(resultName) \(download)\n")
        try #require(get.status == 0, "sftp get failed: \(get.stderr)")

        var options = ReadOptions()
        options.sheet = "Summary"
        let summary = try readAllRecords(XLSXReader(path: download, options: options)).map(\.cells)
        #expect(summary.contains(["Source file", "customers-2024-05.csv"]))
        #expect(summary.contains(["Partner", partner]))
        #expect(summary.contains(["Created", "25"]))
        #expect(try daemon.database().scalar("SELECT count(*) FROM customers WHERE partner = ?1", [.text(partner)]) == 25)
    }
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
func freeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    guard bound else { throw TestFailure("cannot find a free port") }
    return Int(UInt16(bigEndian: address.sin_port))
}
