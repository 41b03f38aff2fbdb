import Foundation
import IntakeRead
import IntakeStore
import IntakeTestSupport
import Testing

/// Uploads as partners' SFTP clients really make them, each through a real sshd with the deploy
/// snippet: every way ends in exactly one import, and a cut-off upload is never imported as if
/// it were whole. The seconds from upload to result are printed for the README's client matrix.
@Suite(.enabled(if: canRunSFTP, "needs root and /usr/sbin/sshd"))
struct SFTPTests {
    func report(_ client: String, _ seconds: Double) {
        print("sftp client matrix: \(client): result \(String(format: "%.2f", seconds)) s after the upload ended")
    }

    @Test func partnerUploadsAndDownloadsItsResult() async throws {
        try await withSFTPServer { server in
            let upload = "\(server.ssh)/customers-2024-05.csv"
            try customersCSV(prefix: "SFTP", count: 25).write(toFile: upload, atomically: true, encoding: .utf8)
            let put = try server.sftp("put \(upload) inbox/customers-2024-05.csv\n")
            try #require(put.status == 0, "sftp put failed: \(put.stderr)")
            let uploaded = Date()

            // The partner sees only its own folder, and cannot write its outbox.
            let listing = try server.sftp("ls -1 /\n")
            #expect(listing.stdout.contains("inbox") && listing.stdout.contains("outbox"))
            #expect(!listing.stdout.contains("state") && !listing.stdout.contains("partners"))
            let sneaky = try server.sftp("put \(upload) outbox/fake.result.xlsx\n")
            #expect(sneaky.status != 0, "the outbox must be read-only for the partner")

            let (seconds, facts) = try server.expectImportedOnce("customers-2024-05", rows: 25, since: uploaded, file: "customers-2024-05.csv")
            #expect(facts["Partner"] == server.partner)
            report("OpenSSH sftp put (written in place)", seconds)
        }
    }

    /// The partner cannot make links: a `check` that links to `/var/lib/intake/partners/<other>`
    /// means nothing inside its chroot, but the service is not chrooted.
    @Test func partnerCannotMakeLinks() async throws {
        try await withSFTPServer { server in
            let upload = "\(server.ssh)/list.csv"
            try customersCSV(prefix: "LNK", count: 1).write(toFile: upload, atomically: true, encoding: .utf8)
            // Temporary upload names, which the watcher leaves alone.
            try #require(try server.sftp("put \(upload) inbox/list.csv.filepart\n").status == 0)
            let symlink = try server.sftp("symlink /var/lib/intake/partners/other/inbox inbox/link.filepart\n")
            #expect(symlink.status != 0, "symlink must be refused: \(symlink.stderr)")
            let hardlink = try server.sftp("ln inbox/list.csv.filepart inbox/hard.csv.filepart\n")
            #expect(hardlink.status != 0, "hard link must be refused: \(hardlink.stderr)")
            #expect(Set(try FileManager.default.contentsOfDirectory(atPath: server.inbox)) == ["check", "list.csv.filepart"])
        }
    }

    /// OpenSSH's `rename` uses the posix-rename extension: a real rename(2), IN_MOVED_TO.
    @Test func opensshPutToATemporaryNameThenRename() async throws {
        try await withSFTPServer { server in
            let upload = "\(server.ssh)/list.csv"
            try customersCSV(prefix: "REN", count: 7).write(toFile: upload, atomically: true, encoding: .utf8)
            let events = try FolderEvents(server.inbox)
            let run = try server.sftp("put \(upload) inbox/list.csv.filepart\nrename inbox/list.csv.filepart inbox/list.csv\n")
            try #require(run.status == 0, "\(run.stderr)")
            let uploaded = Date()
            report("OpenSSH sftp put *.filepart + rename (posix-rename)", try server.expectImportedOnce("list", rows: 7, since: uploaded).seconds)
            #expect(events.lines.contains("MOVED_TO list.csv"), "a real rename: \(events.lines)")
        }
    }

    /// A plain SSH_FXP_RENAME (no posix-rename extension), as most SDKs send it: OpenSSH's server
    /// carries it out as link(new) then unlink(old), so no IN_CLOSE_WRITE or IN_MOVED_TO ever
    /// names the new file.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: TestPaths.packageRoot + "/.build-venv/bin/python"), "needs the test venv with paramiko (make test makes it)"))
    func plainRenameRequestIsCarriedOutAsLinkAndUnlink() async throws {
        try await withSFTPServer { server in
            let upload = "\(server.ssh)/plain.csv"
            try customersCSV(prefix: "PLAIN", count: 9).write(toFile: upload, atomically: true, encoding: .utf8)
            let script = """
            import paramiko, sys
            key = paramiko.Ed25519Key.from_private_key_file(sys.argv[3])
            transport = paramiko.Transport(("127.0.0.1", int(sys.argv[2])))
            transport.connect(username=sys.argv[1], pkey=key)
            sftp = paramiko.SFTPClient.from_transport(transport)
            sftp.put(sys.argv[4], "inbox/plain.csv.filepart")
            sftp.rename("inbox/plain.csv.filepart", "inbox/plain.csv")  # SSH_FXP_RENAME, not posix-rename
            transport.close()
            """
            try script.write(toFile: "\(server.ssh)/upload.py", atomically: true, encoding: .utf8)
            let events = try FolderEvents(server.inbox)
            let run = try runChild(TestPaths.packageRoot + "/.build-venv/bin/python",
                                   ["\(server.ssh)/upload.py", server.partner, "\(server.port)", server.clientKey, upload])
            try #require(run.status == 0, "\(run.stderr)")
            let uploaded = Date()
            report("paramiko put *.filepart + plain rename (link + unlink)", try server.expectImportedOnce("plain", rows: 9, since: uploaded).seconds)
            // On the file system: the new name is created (a second link) and the old one deleted;
            // no close or move ever names plain.csv.
            let lines = events.lines
            #expect(lines.contains("CREATE plain.csv") && lines.contains("DELETE plain.csv.filepart"), "\(lines)")
            #expect(!lines.contains { $0.hasSuffix(" plain.csv") && ($0.contains("MOVED_TO") || $0.contains("CLOSE_WRITE")) }, "\(lines)")
        }
    }

    /// lftp writes to a temporary `.in.<name>` and renames it with a plain rename request.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/lftp"), "needs lftp"))
    func lftpTemporaryFileMode() async throws {
        try await withSFTPServer { server in
            let upload = "\(server.ssh)/lftp.csv"
            try customersCSV(prefix: "LFTP", count: 11).write(toFile: upload, atomically: true, encoding: .utf8)
            let events = try FolderEvents(server.inbox)
            let connect = "ssh -a -x -i \(server.clientKey) -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes"
            let run = try runChild("/usr/bin/lftp", ["-c", """
                set sftp:connect-program "\(connect)"; set xfer:use-temp-file yes; set net:max-retries 1; \
                open sftp://\(server.partner):x@127.0.0.1:\(server.port); put \(upload) -o inbox/lftp.csv
                """])
            try #require(run.status == 0, "\(run.stdout) \(run.stderr)")
            let uploaded = Date()
            report("lftp xfer:use-temp-file (.in.* + rename)", try server.expectImportedOnce("lftp", rows: 11, since: uploaded).seconds)
            let lines = events.lines
            #expect(lines.contains("CLOSE_WRITE .in.lftp.csv") && lines.contains("CREATE lftp.csv") && lines.contains("DELETE .in.lftp.csv"),
                    "lftp writes .in.<name>, then renames it with a plain request (link + unlink): \(lines)")
        }
    }

    /// curl writes the file in place under its final name and closes it.
    @Test func curlWritesInPlace() async throws {
        try await withSFTPServer { server in
            let upload = "\(server.ssh)/curl.csv"
            try customersCSV(prefix: "CURL", count: 5).write(toFile: upload, atomically: true, encoding: .utf8)
            let run = try runChild("/usr/bin/curl", ["-sS", "--insecure", "-u", "\(server.partner):", "--key", server.clientKey,
                                                     "--pubkey", server.clientKey + ".pub", "-T", upload,
                                                     "sftp://127.0.0.1:\(server.port)/inbox/curl.csv"])
            try #require(run.status == 0, "\(run.stderr)")
            report("curl -T (written in place)", try server.expectImportedOnce("curl", rows: 5, since: Date()).seconds)
        }
    }

    /// rclone's SFTP backend, configured through its environment.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/rclone"), "needs rclone"))
    func rcloneCopyto() async throws {
        try await withSFTPServer { server in
            let upload = "\(server.ssh)/rclone.csv"
            try customersCSV(prefix: "RCL", count: 6).write(toFile: upload, atomically: true, encoding: .utf8)
            let events = try FolderEvents(server.inbox)
            let run = try runChild("/usr/bin/rclone", ["copyto", upload, "partner:inbox/rclone.csv", "--config", "/dev/null", "-q"], environment: [
                "RCLONE_CONFIG_PARTNER_TYPE": "sftp", "RCLONE_CONFIG_PARTNER_HOST": "127.0.0.1", "RCLONE_CONFIG_PARTNER_PORT": "\(server.port)",
                "RCLONE_CONFIG_PARTNER_USER": server.partner, "RCLONE_CONFIG_PARTNER_KEY_FILE": server.clientKey,
                "RCLONE_CONFIG_PARTNER_SHELL_TYPE": "none", "RCLONE_CONFIG_PARTNER_MD5SUM_COMMAND": "none", "RCLONE_CONFIG_PARTNER_SHA1SUM_COMMAND": "none",
            ])
            try #require(run.status == 0, "\(run.stderr)")
            report("rclone copyto (sftp backend)", try server.expectImportedOnce("rclone", rows: 6, since: Date()).seconds)
            // Debian's rclone 1.60 writes SFTP uploads in place, under the final name.
            let lines = events.lines
            #expect(lines.contains("CREATE rclone.csv") && lines.contains("CLOSE_WRITE rclone.csv"), "\(lines)")
            #expect(!lines.contains { $0.contains("partial") }, "\(lines)")
        }
    }

    /// A resumed upload (`reput`) under a done marker: nothing is taken before the marker, which
    /// the client sends last; the marker is archived with the file.
    @Test func resumedUploadWaitsForItsDoneMarker() async throws {
        try await withSFTPServer(settings: "    done_marker: \"{name}.done\"\n") { server in
            let full = customersCSV(prefix: "RES", count: 400)
            let upload = "\(server.ssh)/resumed.csv"
            try full.write(toFile: upload, atomically: true, encoding: .utf8)
            let half = "\(server.ssh)/half.csv"
            try Data(full.utf8.prefix(full.utf8.count / 2)).write(to: URL(fileURLWithPath: half))
            try #require(try server.sftp("put \(half) inbox/resumed.csv\n").status == 0)
            // The first half settles and waits for its marker; the log says so.
            try #require(waitUntil(timeout: 30) { server.daemon.logText.contains("waiting for the done marker") })
            #expect(server.daemon.results(server.partner).isEmpty)
            let marker = "\(server.ssh)/marker"
            try "".write(toFile: marker, atomically: true, encoding: .utf8)
            let resumed = try server.sftp("reput \(upload) inbox/resumed.csv\nput \(marker) inbox/resumed.csv.done\n")
            try #require(resumed.status == 0, "\(resumed.stderr)")
            report("OpenSSH sftp put half + reput + done marker", try server.expectImportedOnce("resumed", rows: 400, since: Date()).seconds)
            #expect(try FileManager.default.contentsOfDirectory(atPath: server.inbox).filter { $0 != "check" }.isEmpty, "data file and marker both taken")
            let markers = try FileManager.default.contentsOfDirectory(atPath: server.root + "/state/archive/\(server.partner)/markers")
            #expect(markers.count == 1 && markers[0].hasSuffix("-resumed.csv.done"))
        }
    }

    /// A CSV whose every line is 64 bytes after a 96-byte header: OpenSSH's sftp writes requests
    /// whose sizes are multiples of 64 bytes, so a transfer killed mid-way leaves a file that ends
    /// 32 bytes into a line, inside its fifth field, whatever moment the kill comes.
    static func alignedCSV(rows: Int) -> String {
        let header = "external_id,email,name,phone,created_at,note" + String(repeating: "_", count: 95 - 44) + "\n"
        var text = header
        for i in 0..<rows {
            var line = "K\(String(100_000 + i)),u\(String(100_000 + i))@example.com,N,+79001234567,2018-01-01 00:11:22,"
            line += String(repeating: "x", count: 63 - line.utf8.count) + "\n"
            text += line
        }
        return text
    }

    /// Starts an sftp upload of `text` throttled to 800 kbit/s and kills the client once the inbox
    /// holds more than 300 KB of it.
    func killMidTransfer(_ server: SFTPServer, _ text: String, as name: String) throws {
        let upload = "\(server.ssh)/\(name)"
        try text.write(toFile: upload, atomically: true, encoding: .utf8)
        let batch = "\(server.ssh)/kill-batch"
        try "put \(upload) inbox/\(name)\n".write(toFile: batch, atomically: true, encoding: .utf8)
        let client = try spawnChild("/usr/bin/sftp", ["-b", batch, "-l", "800"] + server.sshOptions + ["\(server.partner)@127.0.0.1"],
                                    stdout: server.ssh + "/kill.out", stderr: server.ssh + "/kill.err")
        try #require(waitUntil(timeout: 60) { fileSize(server.inbox + "/" + name) > 300_000 })
        kill(client, SIGKILL)
        var status: Int32 = 0
        waitpid(client, &status, 0)
    }

    /// Without a marker, a file cut off by a killed client is imported once it settles, and its
    /// cut last line is rejected and reported, never half-imported.
    @Test func aClientKilledMidTransferLeavesACutLineThatIsReported() async throws {
        try await withSFTPServer { server in
            let text = Self.alignedCSV(rows: 80_000)
            #expect(text.utf8.count == 96 + 80_000 * 64)
            try killMidTransfer(server, text, as: "killed.csv")
            let result = try server.daemon.waitForResult(server.partner, "killed", timeout: 60)
            let facts = try server.downloadedSummary((result as NSString).lastPathComponent)
            #expect(facts["Note"]?.contains("the last line is incomplete: was the upload cut off?") == true, "\(facts)")
            #expect(facts["Rejected"] == "1")
            let created = Int(facts["Created"] ?? "") ?? 0
            #expect(created > 1_000 && created < 80_000)
            #expect(server.daemon.logText.contains("the last line is incomplete: was the upload cut off?"))
            #expect(try server.daemon.database().scalar("SELECT count(*) FROM customers") == Int64(created), "the cut row is not stored")
        }
    }

    /// With a done marker, a file cut off by a killed client is never taken: no marker came.
    @Test func aClientKilledMidTransferUnderADoneMarkerImportsNothing() async throws {
        try await withSFTPServer(settings: "    done_marker: \"{name}.done\"\n") { server in
            try killMidTransfer(server, Self.alignedCSV(rows: 80_000), as: "cut.csv")
            try #require(waitUntil(timeout: 60) { server.daemon.logText.contains("waiting for the done marker") && server.daemon.logText.contains("file=cut.csv") })
            #expect(server.daemon.results(server.partner).isEmpty)
            #expect(try server.daemon.database().scalar("SELECT count(*) FROM imports") == 0)
            #expect(FileManager.default.fileExists(atPath: server.inbox + "/cut.csv"), "left in the inbox for the client to resume")
        }
    }
}

