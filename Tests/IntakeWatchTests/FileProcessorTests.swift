import Foundation
import IntakeImport
import IntakeStore
import IntakeSystem
import IntakeTestSupport
import Logging
import Synchronization
import Testing

@testable import IntakeWatch

#if canImport(Glibc)
import Glibc
#endif

/// The journal's state machine in process, on a real data root and SQLite database, with the
/// clock in the test's hand: claims, crash recovery and partner settings.
@Suite struct FileProcessorTests {
    /// A processor on a fresh data root with partner `acme`.
    func withProcessor<T>(_ settings: SettingsBox = SettingsBox(Settings()), _ body: (FileProcessor, DataRoot) throws -> T) throws -> T {
        try withTemporaryDirectory { dir in
            let root = DataRoot(dir + "/var")
            try root.prepare(partner: "acme")
            var logger = Logger(label: "test.watch")
            logger.logLevel = .critical
            let processor = try FileProcessor(configuration: WatchConfiguration(root: root), settings: settings, logger: logger,
                                              clock: ManualTime(), shuttingDown: { false })
            return try body(processor, root)
        }
    }

    /// A processor whose first claim's move is followed at once by a new upload of `list.csv`
    /// (three `N-` rows), as a partner's next upload of that name could race the claim.
    func processorWithANewUploadAfterTheFirstClaim(_ root: DataRoot, _ settings: Settings) throws -> FileProcessor {
        let nextUpload = Mutex(true)
        var logger = Logger(label: "test.watch")
        logger.logLevel = .critical
        return try FileProcessor(configuration: WatchConfiguration(root: root), settings: SettingsBox(settings), logger: logger,
                                 clock: ManualTime(), shuttingDown: { false }) { _ in
            guard nextUpload.withLock({ pending in defer { pending = false }; return pending }) else { return }
            try? writeFile(root.inboxFile("acme", "list.csv"), customersCSV(prefix: "N", count: 3))
        }
    }

    /// A claim whose journal insert never happened (the process died between the two), as the
    /// next start finds it.
    func claimWithoutJournal(_ processor: FileProcessor, _ name: String, check: Bool) throws -> String {
        guard case .claimed(_, let path, _, _) = try processor.inbox.claim(partner: "acme", name: name, check: check) else {
            throw TestFailure("\(name) was not claimed")
        }
        #expect(try processor.journal.knows(processingPath: path, partner: "acme", inode: nil) == false)
        return path
    }

    /// A client that opens the upload for writing while it is being claimed (a resumed upload
    /// waits on the claim's lease, then writes on) sends it back under its name, busy; the next
    /// claim takes it. The lease's break signal does not end the process.
    @Test func anUploadOpenedForWritingDuringItsClaimGoesBack() throws {
        try withTemporaryDirectory { dir in
            let root = DataRoot(dir + "/var")
            try root.prepare(partner: "acme")
            let first = Atomic<Bool>(true)
            let inbox = Inbox(root: root, clock: ManualTime()) { moved in
                // Opened for writing without blocking: the kernel starts breaking the lease and
                // refuses the open (EWOULDBLOCK), as it would keep a blocking one waiting.
                guard first.exchange(false, ordering: .relaxed) else { return }
                _ = try? runChild("/bin/dd", ["of=\(moved)", "oflag=nonblock", "conv=notrunc", "count=0", "status=none"])
            }
            try writeFile(root.inboxFile("acme", "list.csv"), customersCSV(prefix: "L", count: 2))

            #expect(try inbox.claim(partner: "acme", name: "list.csv", check: false) == .busy)
            #expect(FileSystem.exists(root.inboxFile("acme", "list.csv")))
            #expect(try FileSystem.contents(of: root.processing("acme")).isEmpty)

            guard case .claimed(_, let path, _, _) = try inbox.claim(partner: "acme", name: "list.csv", check: false) else {
                throw TestFailure("list.csv was not claimed once nobody opened it")
            }
            #expect(FileSystem.exists(path) && !FileSystem.exists(root.inboxFile("acme", "list.csv")))
        }
    }

    /// A workbook an earlier attempt left at the scratch path (its import rolled back by a crash)
    /// is not published for a file a later attempt rejected whole: that file's result is its
    /// own summary, rebuilt when a crash lost it.
    @Test func aStaleScratchWorkbookIsNotPublishedForARejectedFile() throws {
        try withProcessor { processor, root in
            try writeFile(root.inboxFile("acme", "bad.csv"), "a,b\n1,2\n")
            _ = try claimWithoutJournal(processor, "bad.csv", check: false)
            processor.resume()
            let entry = try #require(try processor.journal.entry(1))
            let importID = try #require(entry.importID)
            let record = try #require(try processor.store.findImport(importID))
            #expect(record.status == .rejected)
            let result = try #require(record.resultPath)
            // As if the crash came before the summary reached the outbox, with an earlier
            // attempt's workbook still at the scratch path.
            try FileSystem.removeFile(result)
            let scratch = root.scratchResult(journalEntry: entry.id)
            try writeFile(scratch, "an earlier attempt's workbook")

            try processor.ensureResult(entry)

            #expect(!FileSystem.exists(scratch))
            let rebuilt = try #require(FileManager.default.contents(atPath: result))
            #expect(rebuilt.starts(with: Array("PK".utf8)), "the summary workbook, not the stale scratch")
        }
    }

    /// `inbox/check` replaced by a link to a folder elsewhere (another partner's inbox): nothing
    /// in it is listed or claimed, and the link itself is refused and set aside.
    @Test func aCheckFolderThatIsALinkIsNeitherListedNorClaimedFrom() throws {
        try withProcessor { processor, root in
            let elsewhere = FileSystem.parent(of: root.partners) + "/elsewhere"
            try FileSystem.createDirectories(elsewhere)
            try writeFile(elsewhere + "/secret.csv", customersCSV(prefix: "X", count: 2))
            try FileSystem.createDirectories(elsewhere + "/folder")
            try FileManager.default.createSymbolicLink(atPath: root.inbox("acme", check: true), withDestinationPath: elsewhere)

            #expect(processor.inbox.entries("acme", check: true).isEmpty)
            #expect(processor.inbox.entries("acme") == ["check"], "the link itself, to be refused")
            #expect(processor.handleReady(partner: "acme", name: "secret.csv", check: true, incompleteSince: nil) == .skipped)
            // Not refused (moved aside) either, as a folder in a real check folder would be.
            #expect(processor.handleReady(partner: "acme", name: "folder", check: true, incompleteSince: nil) == .skipped)
            #expect(FileSystem.exists(elsewhere + "/secret.csv"))

            #expect(processor.handleReady(partner: "acme", name: "check", incompleteSince: nil) == .processed)
            #expect(FileSystem.linkStatus(root.inbox("acme", check: true)) == nil)
            #expect(try FileSystem.contents(of: root.refused("acme")).count == 1)
            #expect(Set(try FileSystem.contents(of: elsewhere)) == ["secret.csv", "folder"])
            #expect(try processor.journal.unfinished().isEmpty)
        }
    }

    /// A file whose import failed waits for its retry's backoff: a rescan or a settings reload
    /// (both resume) does not try it again early, and the failed try is not counted as a crash.
    @Test func aRescanLeavesAFailedFileToItsRetry() throws {
        try withProcessor { processor, root in
            try FileSystem.createDirectories(root.scratchResult(journalEntry: 1)) // in the way
            try writeFile(root.inboxFile("acme", "list.csv"), customersCSV(prefix: "F", count: 2))
            #expect(processor.handleReady(partner: "acme", name: "list.csv", incompleteSince: nil) == .processed)
            let db = try Database(path: root.database)
            #expect(try db.scalar("SELECT failures FROM journal") == 1)
            processor.resume()
            processor.resume()
            #expect(try db.scalar("SELECT failures FROM journal") == 1, "the backoff holds")
            #expect(try db.scalar("SELECT attempts FROM journal") == 0)
        }
    }

    /// A claim the journal refuses to record (here a trigger that fails the insert, as a full
    /// disk would) puts the file back under its name, and the next try claims and imports it.
    @Test func aClaimThatCannotBeRecordedGoesBackToTheInbox() throws {
        try withProcessor { processor, root in
            try writeFile(root.inboxFile("acme", "list.csv"), customersCSV(prefix: "L", count: 2))
            let db = try Database(path: root.database)
            try db.execute("CREATE TRIGGER refuse_claims BEFORE INSERT ON journal BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END")

            #expect(processor.handleReady(partner: "acme", name: "list.csv", incompleteSince: nil) == .skipped)
            #expect(FileSystem.exists(root.inboxFile("acme", "list.csv")))
            #expect(try FileSystem.contents(of: root.processing("acme")).isEmpty)

            try db.execute("DROP TRIGGER refuse_claims")
            #expect(processor.handleReady(partner: "acme", name: "list.csv", incompleteSince: nil) == .processed)
            #expect(try db.scalar("SELECT count(*) FROM customers WHERE external_id LIKE 'L-%'") == 2)
            #expect(try db.scalar("SELECT count(*) FROM journal") == 1)
        }
    }

    /// The same when a new upload of that name arrives between the claim's move and its failed
    /// record: the claimed file goes back beside it as `list (2).csv`, neither replaces the other,
    /// and both are imported once the journal records claims again.
    @Test func aClaimThatCannotBeRecordedGoesBackBesideANewUploadOfItsName() throws {
        try withTemporaryDirectory { dir in
            let root = DataRoot(dir + "/var")
            try root.prepare(partner: "acme")
            let db = try Database(path: root.database)
            try db.execute("CREATE TRIGGER refuse_claims BEFORE INSERT ON journal BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END")
            let processor = try processorWithANewUploadAfterTheFirstClaim(root, Settings())
            try writeFile(root.inboxFile("acme", "list.csv"), customersCSV(prefix: "L", count: 2))

            #expect(processor.handleReady(partner: "acme", name: "list.csv", incompleteSince: nil) == .skipped)
            #expect(try String(contentsOfFile: root.inboxFile("acme", "list.csv"), encoding: .utf8) == customersCSV(prefix: "N", count: 3))
            #expect(try String(contentsOfFile: root.inboxFile("acme", "list (2).csv"), encoding: .utf8) == customersCSV(prefix: "L", count: 2))
            #expect(try FileSystem.contents(of: root.processing("acme")).isEmpty)

            try db.execute("DROP TRIGGER refuse_claims")
            #expect(processor.handleReady(partner: "acme", name: "list.csv", incompleteSince: nil) == .processed)
            #expect(processor.handleReady(partner: "acme", name: "list (2).csv", incompleteSince: nil) == .processed)
            #expect(try db.scalar("SELECT count(*) FROM customers WHERE external_id LIKE 'L-%'") == 2)
            #expect(try db.scalar("SELECT count(*) FROM customers WHERE external_id LIKE 'N-%'") == 3)
            #expect(try db.scalar("SELECT count(*) FROM journal") == 2)
        }
    }

    /// The same for a partner with done markers: the file does not go back as `list (2).csv`,
    /// which would wait for a marker of that name that never comes. It stays in the processing
    /// area; the next resume adopts and imports it and archives the marker it left, so the new
    /// upload waits for its own.
    @Test func aClaimThatCannotBeRecordedUnderADoneMarkerKeepsItsName() throws {
        var settings = Settings()
        var acme = Settings.Partner()
        acme.doneMarker = DoneMarker(template: "{name}.done")
        settings.partners["acme"] = acme
        try withTemporaryDirectory { dir in
            let root = DataRoot(dir + "/var")
            try root.prepare(partner: "acme")
            let db = try Database(path: root.database)
            let processor = try processorWithANewUploadAfterTheFirstClaim(root, settings)
            processor.resume() // the start's, before anything was claimed
            try db.execute("CREATE TRIGGER refuse_claims BEFORE INSERT ON journal BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END")
            try writeFile(root.inboxFile("acme", "list.csv"), customersCSV(prefix: "L", count: 2))
            try writeFile(root.inboxFile("acme", "list.csv.done"), "")

            #expect(processor.handleReady(partner: "acme", name: "list.csv", incompleteSince: nil) == .skipped)
            #expect(try String(contentsOfFile: root.inboxFile("acme", "list.csv"), encoding: .utf8) == customersCSV(prefix: "N", count: 3))
            #expect(!FileSystem.exists(root.inboxFile("acme", "list (2).csv")))
            #expect(try FileSystem.contents(of: root.processing("acme")).count == 1)
            #expect(!FileSystem.exists(root.inboxFile("acme", "list.csv.done")), "the marker the claim left goes with it")
            #expect(processor.handleReady(partner: "acme", name: "list.csv", incompleteSince: nil) == .waitingForMarker)

            try db.execute("DROP TRIGGER refuse_claims")
            processor.resume() // a rescan's
            #expect(try db.scalar("SELECT count(*) FROM customers WHERE external_id LIKE 'L-%'") == 2)
            #expect(processor.handleReady(partner: "acme", name: "list.csv", incompleteSince: nil) == .waitingForMarker)
            try writeFile(root.inboxFile("acme", "list.csv.done"), "")
            #expect(processor.handleReady(partner: "acme", name: "list.csv", incompleteSince: nil) == .processed)
            #expect(try db.scalar("SELECT count(*) FROM customers WHERE external_id LIKE 'N-%'") == 3)
        }
    }

    /// The same, when a new upload took the name meanwhile: the one being written goes back beside
    /// it as `list (2).csv`, and neither replaces the other.
    @Test func anUploadOpenedDuringItsClaimGoesBackBesideANewOneOfItsName() throws {
        try withTemporaryDirectory { dir in
            let root = DataRoot(dir + "/var")
            try root.prepare(partner: "acme")
            let inbox = Inbox(root: root, clock: ManualTime()) { moved in
                _ = try? runChild("/bin/dd", ["of=\(moved)", "oflag=nonblock", "conv=notrunc", "count=0", "status=none"])
                try? writeFile(root.inboxFile("acme", "list.csv"), "the next upload")
            }
            try writeFile(root.inboxFile("acme", "list.csv"), customersCSV(prefix: "L", count: 2))

            #expect(try inbox.claim(partner: "acme", name: "list.csv", check: false) == .busy)
            #expect(try String(contentsOfFile: root.inboxFile("acme", "list.csv"), encoding: .utf8) == "the next upload")
            #expect(try String(contentsOfFile: root.inboxFile("acme", "list (2).csv"), encoding: .utf8) == customersCSV(prefix: "L", count: 2))
            #expect(try FileSystem.contents(of: root.processing("acme")).isEmpty)
        }
    }

    /// The process ended between a claim and the archiving of its done marker: the next start
    /// archives the marker the claim left, so the partner's next file of that name waits for
    /// its own; a marker written after the claim (the next file's) stays, even with an old
    /// modification time kept by its client (`sftp put -p`, WinSCP).
    @Test func aDoneMarkerAClaimLeftIsArchivedAtTheNextStart() throws {
        var settings = Settings()
        var acme = Settings.Partner()
        acme.doneMarker = DoneMarker(template: "{name}.done")
        settings.partners["acme"] = acme
        try withProcessor(SettingsBox(settings)) { processor, root in
            let stale = root.inboxFile("acme", "list.csv.done"), newer = root.inboxFile("acme", "other.csv.done")
            try writeFile(root.inboxFile("acme", "list.csv"), customersCSV(prefix: "L", count: 2))
            try writeFile(stale, "")
            _ = try claimWithoutJournal(processor, "list.csv", check: false)
            try writeFile(root.inboxFile("acme", "other.csv"), customersCSV(prefix: "O", count: 2))
            let claimed = try claimWithoutJournal(processor, "other.csv", check: false)
            // The next other.csv's marker, written once the kernel's clock has moved past the
            // claim (a tick at most: each write sets a new change time), dated 2001 by its client.
            repeat {
                try writeFile(newer, "")
                try setModified(newer, seconds: 1_000_000_000)
            } while try changeTime(newer) <= changeTime(claimed)

            processor.resume()

            #expect(!FileSystem.exists(stale))
            #expect(try FileSystem.contents(of: root.markerArchive("acme")).filter { $0.hasSuffix("-list.csv.done") }.count == 1)
            #expect(FileSystem.exists(newer))
            let db = try Database(path: root.database)
            #expect(try db.scalar("SELECT count(*) FROM customers WHERE external_id LIKE 'L-%' OR external_id LIKE 'O-%'") == 4)
            try writeFile(root.inboxFile("acme", "list.csv"), customersCSV(prefix: "M", count: 1))
            #expect(processor.handleReady(partner: "acme", name: "list.csv", incompleteSince: nil) == .waitingForMarker)
        }
    }

    /// Sets `path`'s modification time without a child process (a fork would carry this
    /// process's descriptors, and a parallel test's upload open for writing would refuse its
    /// claim's lease).
    func setModified(_ path: String, seconds: Int) throws {
        let times = [timespec(tv_sec: seconds, tv_nsec: 0), timespec(tv_sec: seconds, tv_nsec: 0)]
        guard utimensat(AT_FDCWD, path, times, 0) == 0 else { throw TestFailure("utimensat \(path): errno \(errno)") }
    }

    /// `path`'s change time, in nanoseconds.
    func changeTime(_ path: String) throws -> Int {
        guard let status = FileSystem.linkStatus(path) else { throw TestFailure("no \(path)") }
        return status.st_ctim.tv_sec * 1_000_000_000 + status.st_ctim.tv_nsec
    }

    @Test func anUploadNamedLikeTheCheckMarkerIsImportedForRealAfterACrash() throws {
        try withProcessor { processor, root in
            try writeFile(root.inboxFile("acme", "check--x.csv"), customersCSV(prefix: "X", count: 3))
            try writeFile(root.inboxFile("acme", "real.csv", check: true), customersCSV(prefix: "C", count: 2))
            _ = try claimWithoutJournal(processor, "check--x.csv", check: false)
            _ = try claimWithoutJournal(processor, "real.csv", check: true)

            processor.resume()

            let db = try Database(path: root.database)
            #expect(try db.scalar("SELECT count(*) FROM customers WHERE external_id LIKE 'X-%'") == 3, "an import, not a dry run")
            #expect(try db.scalar("SELECT count(*) FROM imports WHERE file_name = 'check--x.csv' AND status = 'completed'") == 1)
            #expect(try db.scalar("SELECT count(*) FROM customers WHERE external_id LIKE 'C-%'") == 0, "a real check stays a check")
            #expect(try db.scalar("SELECT count(*) FROM imports WHERE file_name = 'real.csv' AND status = 'checked'") == 1)
            #expect(try db.scalar("SELECT count(*) FROM journal WHERE step = 'archived'") == 2)
        }
    }

    @Test func unusableSettingsMakeTheFileWaitNeverTheDefaults() throws {
        var settings = Settings()
        var acme = Settings.Partner()
        acme.mode = .createOnly
        acme.timeZone = "Not/A_Zone" // passes no parser: set in code, as a stale zone database would leave it
        settings.partners["acme"] = acme
        let box = SettingsBox(settings)
        try withProcessor(box) { processor, root in
            try writeFile(root.inboxFile("acme", "waiting.csv"), customersCSV(prefix: "W", count: 2))
            #expect(processor.handleReady(partner: "acme", name: "waiting.csv", incompleteSince: nil) == .waitingForSettings)
            #expect(FileSystem.exists(root.inboxFile("acme", "waiting.csv")), "left in the inbox")

            // A file claimed before the settings broke waits in the journal, unimported.
            try writeFile(root.inboxFile("acme", "claimed.csv"), customersCSV(prefix: "K", count: 2))
            let claimed = try claimWithoutJournal(processor, "claimed.csv", check: false)
            processor.resume()
            let db = try Database(path: root.database)
            #expect(try db.scalar("SELECT count(*) FROM imports") == 0, "nothing imported under guessed settings")
            #expect(try db.cachedStatement("SELECT step, processing_path FROM journal").rows() == [["claimed", claimed]])

            // Fixed: both go through, in the partner's own mode.
            acme.timeZone = "Europe/Moscow"
            settings.partners["acme"] = acme
            box.replace(settings)
            processor.resume()
            #expect(processor.handleReady(partner: "acme", name: "waiting.csv", incompleteSince: nil) == .processed)
            #expect(try db.cachedStatement("SELECT file_name, mode, status FROM imports ORDER BY id").rows() == [
                ["claimed.csv", "create-only", "completed"], ["waiting.csv", "create-only", "completed"],
            ])
            #expect(try db.scalar("SELECT count(*) FROM customers") == 4)
        }
    }

    @Test func linksPipesAndFoldersAreRefusedWithAResult() throws {
        try withProcessor { processor, root in
            try writeFile(root.path + "/elsewhere.csv", customersCSV(prefix: "E", count: 1))
            #expect(symlink(root.path + "/elsewhere.csv", root.inboxFile("acme", "link.csv")) == 0)
            #expect(link(root.path + "/elsewhere.csv", root.inboxFile("acme", "hard.csv")) == 0)
            #expect(mkfifo(root.inboxFile("acme", "pipe.csv"), 0o600) == 0)
            #expect(mkdir(root.inboxFile("acme", "folder.csv"), 0o755) == 0)
            for name in ["link.csv", "hard.csv", "pipe.csv", "folder.csv"] {
                #expect(processor.handleReady(partner: "acme", name: name, incompleteSince: nil) == .processed)
                #expect(!FileSystem.exists(root.inboxFile("acme", name)))
            }
            let db = try Database(path: root.database)
            #expect(try db.cachedStatement("SELECT file_name, status FROM imports ORDER BY file_name").rows() == [
                ["folder.csv", "rejected"], ["hard.csv", "rejected"], ["link.csv", "rejected"], ["pipe.csv", "rejected"],
            ])
            #expect(try FileSystem.contents(of: root.refused("acme")).count == 4)
            #expect(try FileSystem.contents(of: root.outbox("acme")).filter { $0.hasSuffix(".result.xlsx") }.count == 4)
            #expect(FileSystem.exists(root.path + "/elsewhere.csv"), "a link's target is never touched")
        }
    }

    /// The claim itself, for what is swapped in after the watcher looked: a link is refused
    /// without being followed, a second link or a pipe is refused from the open descriptor, a
    /// vanished file is gone, and nothing is moved.
    @Test func theClaimRefusesWhatWasSwappedInAfterTheLook() throws {
        try withProcessor { processor, root in
            let inbox = processor.inbox
            try writeFile(root.path + "/elsewhere.csv", "x")
            #expect(symlink(root.path + "/elsewhere.csv", root.inboxFile("acme", "link.csv")) == 0)
            #expect(try inbox.claim(partner: "acme", name: "link.csv", check: false) == .refused("symbolic links are not accepted; upload the file itself"))
            #expect(link(root.path + "/elsewhere.csv", root.inboxFile("acme", "hard.csv")) == 0)
            #expect(try inbox.claim(partner: "acme", name: "hard.csv", check: false) == .refused("hard links are not accepted; upload the file itself"))
            #expect(mkfifo(root.inboxFile("acme", "pipe.csv"), 0o600) == 0)
            #expect(try inbox.claim(partner: "acme", name: "pipe.csv", check: false) == .refused("named pipes are not accepted; upload a regular file"))
            #expect(try inbox.claim(partner: "acme", name: "missing.csv", check: false) == .gone)
            #expect(try FileSystem.contents(of: root.inbox("acme")).sorted() == ["hard.csv", "link.csv", "pipe.csv"])
            #expect(((try? FileSystem.contents(of: root.processing("acme"))) ?? []).isEmpty)

            // A regular file is moved under a processing name that keeps the partner's name.
            try writeFile(root.inboxFile("acme", "ok.csv", check: true), "x")
            guard case .claimed(let name, let path, let size, _) = try inbox.claim(partner: "acme", name: "ok.csv", check: true) else {
                throw TestFailure("ok.csv was not claimed")
            }
            #expect(name.check && name.fileName == "ok.csv" && size == 1)
            #expect(path == root.processingFile("acme", name.encoded) && FileSystem.exists(path))
        }
    }

    @Test func filesClaimedByThePreviousVersionAreAdoptedItsWay() throws {
        try withProcessor { processor, root in
            try FileSystem.createDirectories(root.processing("acme"))
            try writeFile(root.processingFile("acme", "1767225600-42-1--old.csv"), customersCSV(prefix: "OLD", count: 2))
            try writeFile(root.processingFile("acme", "1767225600-42-2--check--trial.csv"), customersCSV(prefix: "TRY", count: 2))
            processor.resume()
            let db = try Database(path: root.database)
            #expect(try db.cachedStatement("SELECT file_name, status FROM imports ORDER BY file_name").rows() == [
                ["old.csv", "completed"], ["trial.csv", "checked"],
            ])
            #expect(try db.scalar("SELECT count(*) FROM customers") == 2)
        }
    }
}
