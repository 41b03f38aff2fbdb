import Foundation
import IntakeImport
import IntakeRead
import IntakeStore
import IntakeTestSupport
import Testing

/// The real daemon on real inotify: every wait is on a condition with a deadline.
@Suite struct WatchTests {
    @Test func droppedFileAndFilesPresentBeforeStart() throws {
        try withDaemonRoot { root in
            let daemon = Daemon(root: root)
            try daemon.addPartner("acme")
            // Arrived while the daemon was down.
            try writeClosingOnExec(customersCSV(prefix: "EARLY", count: 3), to: daemon.inbox("acme") + "/early.csv")
            try daemon.start()
            defer { daemon.stop() }
            try daemon.waitForResult("acme", "early")
            try daemon.waitForDone("early.csv")

            try drop(customersCSV(prefix: "LIVE", count: 5), into: daemon.inbox("acme"), as: "live.CSV")
            let result = try daemon.waitForResult("acme", "live")
            try daemon.waitForDone("live.CSV")
            let db = try daemon.database()
            #expect(try db.scalar("SELECT count(*) FROM customers WHERE partner = 'acme' AND external_id LIKE 'LIVE-%'") == 5)
            #expect(try db.scalar("SELECT count(*) FROM customers WHERE partner = 'acme' AND external_id LIKE 'EARLY-%'") == 3)
            var options = ReadOptions()
            options.sheet = "Summary"
            let summary = try readAllRecords(XLSXReader(path: result, options: options)).map(\.cells)
            #expect(summary.contains(["Created", "5"]))
            #expect(summary.contains(["Source file", "live.CSV"]))
            #expect(try FileManager.default.contentsOfDirectory(atPath: daemon.inbox("acme")).isEmpty)
            #expect(daemon.logText.contains("file=live.CSV"))
        }
    }

    @Test func burstOverflowingTheEventBufferIsProcessedExactlyOnce() throws {
        // A buffer of 2 signals overflows at once under a burst; each overflow forces a rescan.
        try withRunningDaemon(arguments: ["--event-buffer", "2"]) { daemon, root in
            let files = 300
            for i in 0..<files {
                try customersCSV(prefix: "B\(i)", count: 2).write(toFile: daemon.inbox("acme") + "/burst-\(i).csv", atomically: false, encoding: .utf8)
            }
            let done = waitUntil(timeout: 300) { daemon.logText.components(separatedBy: "] file done").count - 1 >= files }
            try #require(done, "only \(daemon.results("acme").count) results")
            #expect(daemon.logText.contains("rescanning every inbox"), "the burst should have overflowed the buffer")
            let db = try daemon.database()
            #expect(try db.scalar("SELECT count(*) FROM imports WHERE partner = 'acme' AND status = 'completed'") == Int64(files))
            #expect(try db.scalar("SELECT count(DISTINCT file_name) FROM imports WHERE partner = 'acme'") == Int64(files))
            #expect(try db.scalar("SELECT count(*) FROM customers WHERE partner = 'acme'") == Int64(files * 2))
            #expect(try db.scalar("SELECT count(*) FROM journal WHERE step = 'archived'") == Int64(files))
            let archived = try FileManager.default.contentsOfDirectory(atPath: root + "/state/archive/acme/processed")
            #expect(archived.count == files)
            #expect(try FileManager.default.contentsOfDirectory(atPath: daemon.inbox("acme")).isEmpty)
            #expect(daemon.results("acme").count == files)
        }
    }

    @Test func fileStillBeingWrittenIsNotImportedUntilComplete() throws {
        try withRunningDaemon { daemon, root in
            let path = daemon.inbox("acme") + "/slow.csv"
            let text = customersCSV(prefix: "SLOW", count: 1_000)
            let bytes = Array(text.utf8)
            #expect(FileManager.default.createFile(atPath: path, contents: nil))
            let handle = try #require(FileHandle(forWritingAtPath: path))
            try handle.write(contentsOf: bytes[0..<(bytes.count / 3)])

            // A file dropped after the slow one and processed first proves the slow one, though
            // older and unchanged for longer than the settle time, was not taken while open.
            try drop(customersCSV(prefix: "SENT", count: 1), into: daemon.inbox("acme"), as: "sentinel.csv")
            try daemon.waitForResult("acme", "sentinel")
            #expect(daemon.result("acme", for: "slow") == nil)
            #expect(FileManager.default.fileExists(atPath: path))

            try handle.write(contentsOf: bytes[(bytes.count / 3)...])
            try handle.close()
            try daemon.waitForResult("acme", "slow")
            #expect(try daemon.database().scalar("SELECT count(*) FROM customers WHERE external_id LIKE 'SLOW-%'") == 1_000)
        }
    }

    @Test func incompleteWorkbookWaitsForItsZipToComplete() throws {
        try withRunningDaemon { daemon, root in
            let full = root + "-book.xlsx"
            let rows = [["external_id", "email", "name", "phone", "created_at"]] + (0..<500).map { ["X-\($0)", "", "N \($0)", "", ""] }
            try XLSXFixture.write(full, sheetXML: XLSXFixture.sheet(rows: rows))
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: full)))
            let path = daemon.inbox("acme") + "/book.xlsx"
            // The first part is written and closed, as an upload that resumes later would.
            try Data(bytes[0..<(bytes.count / 2)]).write(to: URL(fileURLWithPath: path))
            try drop(customersCSV(prefix: "SENT", count: 1), into: daemon.inbox("acme"), as: "sentinel.csv")
            try daemon.waitForResult("acme", "sentinel")
            // Give the tracker more than one settle period past the sentinel, without sleeping:
            // wait for a second sentinel dropped after it.
            try drop(customersCSV(prefix: "SENT2", count: 1), into: daemon.inbox("acme"), as: "sentinel2.csv")
            try daemon.waitForResult("acme", "sentinel2")
            #expect(daemon.result("acme", for: "book") == nil)

            let handle = try #require(FileHandle(forWritingAtPath: path))
            try handle.seekToEnd()
            try handle.write(contentsOf: bytes[(bytes.count / 2)...])
            try handle.close()
            try daemon.waitForResult("acme", "book")
            #expect(try daemon.database().scalar("SELECT count(*) FROM customers WHERE external_id LIKE 'X-%'") == 500)
        }
    }

    @Test func temporaryUploadNamesWaitForTheirRename() throws {
        try withRunningDaemon { daemon, root in
            let inbox = daemon.inbox("acme")
            let temporary = ["winscp.csv.filepart", ".rclone.csv.AbCd.partial", ".in.lftp.csv", "upload.csv.tmp", "chrome.csv.part", "~$book.xlsx"]
            for (i, name) in temporary.enumerated() {
                try customersCSV(prefix: "T\(i)", count: 1).write(toFile: inbox + "/" + name, atomically: false, encoding: .utf8)
            }
            try drop(customersCSV(prefix: "SENT", count: 1), into: inbox, as: "sentinel.csv")
            try daemon.waitForResult("acme", "sentinel")
            #expect(try FileManager.default.contentsOfDirectory(atPath: inbox).sorted() == temporary.sorted())
            #expect(try daemon.database().scalar("SELECT count(*) FROM customers WHERE external_id LIKE 'T%'") == 0)

            try FileManager.default.moveItem(atPath: inbox + "/winscp.csv.filepart", toPath: inbox + "/winscp.csv")
            try FileManager.default.moveItem(atPath: inbox + "/.in.lftp.csv", toPath: inbox + "/lftp.csv")
            try daemon.waitForResult("acme", "winscp")
            try daemon.waitForResult("acme", "lftp")
            #expect(try daemon.database().scalar("SELECT count(*) FROM customers WHERE external_id IN ('T0-0', 'T2-0')") == 2)
        }
    }

    @Test func symlinksHardLinksAndPipesAreRefused() throws {
        try withRunningDaemon { daemon, root in
            let inbox = daemon.inbox("acme")
            let secret = root + "-secret.csv"
            try writeClosingOnExec(customersCSV(prefix: "SECRET", count: 2), to: secret)
            try FileManager.default.createSymbolicLink(atPath: inbox + "/link.csv", withDestinationPath: secret)
            #expect(link(secret, inbox + "/hard.csv") == 0)
            #expect(mkfifo(inbox + "/pipe.csv", 0o644) == 0)
            try FileManager.default.createDirectory(atPath: inbox + "/folder.csv", withIntermediateDirectories: false)

            for stem in ["link", "hard", "pipe", "folder"] {
                let result = try daemon.waitForResult("acme", stem)
                var options = ReadOptions()
                options.sheet = "Summary"
                let summary = try readAllRecords(XLSXReader(path: result, options: options)).map(\.cells)
                let error = summary.first { $0.first == "Error" }?.last ?? ""
                #expect(error.contains("are not accepted"), "\(stem): \(error)")
            }
            #expect(try daemon.database().scalar("SELECT count(*) FROM customers") == 0, "nothing behind a link was read")
            #expect(try String(contentsOfFile: secret, encoding: .utf8).hasPrefix("external_id"), "the target is untouched")
            #expect(try FileManager.default.contentsOfDirectory(atPath: inbox).isEmpty)
            #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/state/refused/acme").count == 4)
            #expect(daemon.logText.contains("symbolic links are not accepted"))
        }
    }

    @Test func otherFormatsGetAResultAndGoToFailed() throws {
        try withRunningDaemon { daemon, root in
            try drop("hello", into: daemon.inbox("acme"), as: "notes.txt")
            try daemon.waitForResult("acme", "notes")
            try daemon.waitForDone("notes.txt")
            let failed = try FileManager.default.contentsOfDirectory(atPath: root + "/state/archive/acme/failed")
            #expect(failed.count == 1 && failed[0].hasSuffix("notes.txt"))
        }
    }

    @Test func partnersNeverTouchEachOther() throws {
        try withRunningDaemon { daemon, root in
            // A partner added while running is picked up without a restart.
            try daemon.addPartner("beta")
            try drop(customersCSV(prefix: "C", count: 3, name: "Acme"), into: daemon.inbox("acme"), as: "list.csv")
            try drop(customersCSV(prefix: "C", count: 3, name: "Beta"), into: daemon.inbox("beta"), as: "list.csv")
            try daemon.waitForResult("acme", "list")
            try daemon.waitForResult("beta", "list")
            let db = try daemon.database()
            #expect(try db.scalar("SELECT count(*) FROM customers WHERE partner = 'acme' AND name LIKE 'Acme %'") == 3)
            #expect(try db.scalar("SELECT count(*) FROM customers WHERE partner = 'beta' AND name LIKE 'Beta %'") == 3)
            #expect(try db.scalar("SELECT count(*) FROM customers") == 6)
            #expect(daemon.results("acme").count == 1 && daemon.results("beta").count == 1)
            #expect(try db.scalar("SELECT count(*) FROM imports WHERE status = 'duplicate'") == 0, "same content, other partner: not a duplicate")
        }
    }

    @Test func sameContentTwiceIsADuplicate() throws {
        try withRunningDaemon { daemon, root in
            let text = customersCSV(prefix: "D", count: 4)
            try drop(text, into: daemon.inbox("acme"), as: "first.csv")
            try daemon.waitForResult("acme", "first")
            try drop(text, into: daemon.inbox("acme"), as: "second.csv")
            let result = try daemon.waitForResult("acme", "second")
            var options = ReadOptions()
            options.sheet = "Summary"
            let summary = try readAllRecords(XLSXReader(path: result, options: options)).map(\.cells)
            #expect(summary.first { $0.first == "Error" }?.last?.contains("the same content was already imported as import 1 (first.csv") == true)
            #expect(try daemon.database().scalar("SELECT count(*) FROM imports WHERE status = 'completed'") == 1)
        }
    }

    @Test func aLongCyrillicNameIsClaimedAndAnswered() throws {
        try withRunningDaemon { daemon, root in
            // 125 Cyrillic letters, 250 bytes, plus ".csv": 254 of a file system's 255.
            let name = String(repeating: "Ж", count: 125) + ".csv"
            #expect(name.utf8.count == 254)
            try writeClosingOnExec(customersCSV(prefix: "LONG", count: 2), to: daemon.inbox("acme") + "/.up.partial")
            try FileManager.default.moveItem(atPath: daemon.inbox("acme") + "/.up.partial", toPath: daemon.inbox("acme") + "/" + name)
            try daemon.waitForDone(name)
            let results = daemon.results("acme")
            #expect(results.count == 1)
            let result = try #require(results.first)
            #expect(result.utf8.count <= 255 && result.hasSuffix(".import-1.result.xlsx") && result.hasPrefix("ЖЖЖ"), "\(result)")
            #expect(result.contains("…"), "the stem was shortened, visibly")
            #expect(try summary(daemon.outbox("acme") + "/" + result)["Source file"] == name, "the whole name, from the journal")
            let db = try daemon.database()
            #expect(try db.scalar("SELECT count(*) FROM customers") == 2)
            #expect(try db.cachedStatement("SELECT file_name FROM imports").rows() == [[name]])
            let archived = try FileManager.default.contentsOfDirectory(atPath: root + "/state/archive/acme/processed")
            #expect(archived.count == 1 && archived[0].utf8.count < 160)
        }
    }

    @Test func onceProcessesWhatIsWaitingAndExits() throws {
        try withDaemonRoot { root in
            let inbox = root + "/partners/acme/inbox"
            try FileManager.default.createDirectory(atPath: inbox, withIntermediateDirectories: true)
            try writeClosingOnExec(customersCSV(prefix: "O", count: 2), to: inbox + "/a.csv")
            let run = try runChild(TestPaths.intake, ["watch", "--once", "--root", root, "--settle", "0"])
            #expect(run.status == 0, "\(run.stderr)")
            #expect(try Database(path: root + "/state/intake.sqlite").scalar("SELECT count(*) FROM customers") == 2)
            #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/partners/acme/outbox").count == 1)
        }
    }

    @Test func onceHonoursEachPartnersSettleSeconds() throws {
        try withDaemonRoot { root in
            for partner in ["acme", "slow"] {
                try FileManager.default.createDirectory(atPath: root + "/partners/\(partner)/inbox", withIntermediateDirectories: true)
                try writeClosingOnExec(customersCSV(prefix: partner, count: 2), to: root + "/partners/\(partner)/inbox/a.csv")
            }
            // The files were just written: `slow` wants them an hour old, the service default none.
            try "partners:\n  slow:\n    settle_seconds: 3600\n".write(toFile: root + "/settings.yaml", atomically: true, encoding: .utf8)
            let run = try runChild(TestPaths.intake, ["watch", "--once", "--root", root, "--settle", "0"])
            #expect(run.status == 0, "\(run.stderr)")
            let db = try Database(path: root + "/state/intake.sqlite")
            #expect(try db.scalar("SELECT count(*) FROM customers WHERE partner = 'acme'") == 2)
            #expect(try db.scalar("SELECT count(*) FROM customers WHERE partner = 'slow'") == 0)
            #expect(FileManager.default.fileExists(atPath: root + "/partners/slow/inbox/a.csv"))
            #expect(run.stderr.contains("still settling; left for the next run") && run.stderr.contains("partner=slow"))
        }
    }

    @Test func sigtermAbandonsTheImportInHandAndTheNextStartResumesIt() throws {
        try withDaemonRoot { root in
            let daemon = Daemon(root: root)
            try daemon.addPartner("acme")
            try daemon.start()
            // Large enough that the stop lands during its import (checked every 4,096 rows).
            let rows = 200_000
            try drop(customersCSV(prefix: "BIG", count: rows), into: daemon.inbox("acme"), as: "big.csv")
            try #require(waitUntil(timeout: 60) { daemon.logText.contains("file=big.csv") && daemon.logText.contains("import started") })
            let status = daemon.stop(SIGTERM)
            #expect(status & 0x7F == 0 && (status >> 8) & 0xFF == 0, "exit status \(status)")
            #expect(daemon.logText.contains("stopped"))
            // The import in hand was abandoned and rolled back: nothing of it committed, the file
            // still claimed, the attempt not counted.
            #expect(daemon.logText.contains("import abandoned for shutdown"), "the stop must land mid-import; log:\n\(daemon.logText.suffix(2000))")
            do {
                let db = try daemon.database()
                #expect(try db.scalar("SELECT count(*) FROM customers") == 0)
                #expect(try db.scalar("SELECT count(*) FROM imports") == 0)
                #expect(try db.cachedStatement("SELECT step, attempts FROM journal").rows() == [["claimed", "0"]])
            }

            try daemon.start()
            defer { daemon.stop() }
            try daemon.waitForResult("acme", "big", timeout: 300)
            let db = try daemon.database()
            #expect(try db.scalar("SELECT count(*) FROM customers") == Int64(rows))
            #expect(try db.scalar("SELECT count(*) FROM imports WHERE status = 'completed'") == 1)
            #expect(try db.scalar("SELECT attempts FROM journal") == 1, "an abandoned attempt is not counted")
        }
    }

    @Test func aFileThatKeepsTimingOutIsSetAsideAfterMaxAttempts() throws {
        // A zero timeout stops every import at its first check (after 4,096 rows).
        try withRunningDaemon(arguments: ["--import-timeout", "0", "--max-attempts", "2"]) { daemon, root in
            try drop(customersCSV(prefix: "SLOW", count: 5_000), into: daemon.inbox("acme"), as: "stuck.csv")
            let result = try daemon.waitForResult("acme", "stuck")
            try daemon.waitForDone("stuck.csv")
            #expect(try summary(result)["Error"]?.contains("importing this file crashed or timed out 2 times") == true)
            #expect(try daemon.database().scalar("SELECT count(*) FROM customers") == 0)
            #expect(try daemon.database().scalar("SELECT attempts FROM journal") == 3, "two attempts, then the one that sets it aside")
            let failed = try FileManager.default.contentsOfDirectory(atPath: root + "/state/archive/acme/failed")
            #expect(failed.count == 1 && failed[0].hasSuffix("--stuck.csv"))
            #expect(daemon.logText.components(separatedBy: "reason=timeout").count - 1 == 2)
        }
    }
}
