import Foundation
import IntakeImport
import IntakeStore
import IntakeSystem
import IntakeTestSupport
import Logging
import ServiceLifecycle
import Synchronization
import Testing

@testable import IntakeWatch

/// The service in process, on real inotify and a real database, with time in the test's hand: an
/// upload is claimed when the injected clock says it has settled, not before, and no test sleeps
/// for the settle time to pass.
@Suite struct WatchServiceTests {
    /// How many passes over settling files the service made, and how many files waited after the last.
    final class Passes: Sendable {
        private let state = Mutex((count: 0, waiting: 0))
        var count: Int { state.withLock { $0.count } }
        var waiting: Int { state.withLock { $0.waiting } }
        func record(_ waiting: Int) { state.withLock { $0 = ($0.count + 1, waiting) } }
    }

    @Test func anUploadSettlesOnTheInjectedClock() async throws {
        var settings = Settings()
        var slow = Settings.Partner()
        slow.settleSeconds = 600
        settings.partners["slow"] = slow
        try await withRunningService(settings: settings, settleSeconds: 30, partners: ["acme", "slow"]) { root, time, passes in
            try drop(customersCSV(prefix: "S", count: 3), into: root.inbox("acme"), as: "list.csv")
            try drop(customersCSV(prefix: "L", count: 1), into: root.inbox("slow"), as: "later.csv")
            try #require(await eventually { passes.waiting == 2 }, "both uploads are seen and wait")

            // Just short of the settle time, over several passes: nothing is claimed.
            time.advance(by: 29.9)
            let seen = passes.count
            try #require(await eventually { passes.count >= seen + 3 })
            #expect(passes.waiting == 2)
            #expect(FileSystem.exists(root.inboxFile("acme", "list.csv")))

            // Settled: imported, its result in the outbox; the slow partner's file still waits.
            time.advance(by: 0.2)
            try #require(await eventually { ((try? FileSystem.contents(of: root.outbox("acme"))) ?? []).contains { $0.hasSuffix(".result.xlsx") } })
            let db = try Database(path: root.database)
            #expect(try db.scalar("SELECT count(*) FROM customers WHERE partner = 'acme'") == 3)
            try #require(await eventually { passes.waiting == 1 }, "only the slow partner's file waits")
            #expect(FileSystem.exists(root.inboxFile("slow", "later.csv")), "its own settle_seconds: 600")
            time.advance(by: 600)
            try #require(await eventually { (try? db.scalar("SELECT count(*) FROM customers WHERE partner = 'slow'")) == 1 })
            #expect(try db.cachedStatement("SELECT min(started_at) FROM imports").rows() == [["2026-01-01 00:00:30"]], "stamped by the injected clock")
        }
    }

    /// A failure inside the running service (here the result workbook cannot be written, because
    /// a folder stands where it goes) is retried by the service itself, after a backoff on the
    /// injected clock; once the cause is gone the file goes through, exactly once.
    @Test func aFailedFileIsRetriedWithABackoffByTheRunningService() async throws {
        try await withRunningService { root, time, passes in
            try FileSystem.createDirectories(root.scratchResult(journalEntry: 1)) // in the way
            try drop(customersCSV(prefix: "R", count: 2), into: root.inbox("acme"), as: "retry.csv")
            let db = try Database(path: root.database)
            try #require(await eventually { (try? db.scalar("SELECT failures FROM journal WHERE id = 1")) == 1 })
            #expect(try db.scalar("SELECT count(*) FROM imports") == 0, "the failed try left nothing")
            #expect(try db.cachedStatement("SELECT step FROM journal").rows() == [["claimed"]])

            // Before the backoff has passed nothing is tried again.
            let seen = passes.count
            time.advance(by: 9)
            try #require(await eventually { passes.count >= seen + 3 })
            #expect(try db.scalar("SELECT failures FROM journal WHERE id = 1") == 1)

            try FileManager.default.removeItem(atPath: root.scratchResult(journalEntry: 1))
            time.advance(by: 1.5)
            try #require(await eventually { (try? db.scalar("SELECT count(*) FROM journal WHERE step = 'archived'")) == 1 })
            #expect(try db.scalar("SELECT count(*) FROM imports WHERE status = 'completed'") == 1)
            #expect(try db.scalar("SELECT count(*) FROM customers") == 2)
            #expect(try db.scalar("SELECT failures FROM journal") == 1)
            #expect(try db.scalar("SELECT attempts FROM journal") == 1, "the failed try is a failure, not a crash")
        }
    }

    /// A claim that fails before the file is moved (here its processing folder cannot be made)
    /// leaves the file in the inbox, where no event will name it again: the service asks again
    /// (after 1 s, then less often; see `WatchPartsTests`), and imports it once the cause is gone.
    @Test func aClaimThatFailsIsTriedAgainLater() async throws {
        try await withRunningService(settleSeconds: 1) { root, time, passes in
            try FileSystem.createDirectories(root.processing)
            try writeFile(root.processing("acme"), "in the way")
            try drop(customersCSV(prefix: "C", count: 2), into: root.inbox("acme"), as: "claim.csv")
            try #require(await eventually { passes.waiting == 1 })
            time.advance(by: 2)
            let seen = passes.count
            try #require(await eventually { passes.count >= seen + 3 })
            #expect(FileSystem.exists(root.inboxFile("acme", "claim.csv")), "still in the inbox")
            try #require(await eventually { passes.waiting == 1 }, "and still asked about")

            try FileSystem.removeFile(root.processing("acme"))
            time.advance(by: 2)
            let db = try Database(path: root.database)
            try #require(await eventually { (try? db.scalar("SELECT count(*) FROM customers")) == 2 })
        }
    }

    /// A file that keeps failing is set aside at the failures limit (ten, not the three crashes
    /// allowed), with a result workbook that names the last failure, and the service goes on.
    @Test func aFileThatKeepsFailingIsSetAsideWithTheLastFailureNamed() async throws {
        try await withRunningService { root, time, _ in
            try FileSystem.createDirectories(root.scratchResult(journalEntry: 1))
            try drop(customersCSV(prefix: "F", count: 2), into: root.inbox("acme"), as: "failing.csv")
            let db = try Database(path: root.database)
            // The first try fails on its own (settle time 0); each later one waits for the clock,
            // which moves only after the failure before it is recorded.
            try #require(await eventually { (try? db.scalar("SELECT failures FROM journal WHERE id = 1")) == 1 })
            for failures in 2...10 {
                time.advance(by: 700) // past any backoff
                try #require(await eventually { (try? db.scalar("SELECT failures FROM journal WHERE id = 1")) == Int64(failures) })
            }
            time.advance(by: 700)
            try #require(await eventually { (try? db.scalar("SELECT count(*) FROM journal WHERE step = 'archived'")) == 1 })
            let record = try #require(try ImportLog(database: db).list(partner: "acme").first)
            #expect(record.status == .rejected)
            #expect(record.error?.contains("importing this file failed 10 times (the last time: ") == true, "\(record.error ?? "")")
            #expect(try db.scalar("SELECT attempts FROM journal WHERE id = 1") == 1, "failures are not counted as crashes")
            #expect(try db.scalar("SELECT count(*) FROM customers") == 0)
            let failed = try FileSystem.contents(of: root.archive("acme", outcome: .failed))
            #expect(failed.count == 1)
        }
    }

    /// A running service on a fresh data root with `partners`, retries from 10 s, on a clock the
    /// test moves; stopped when `body` returns.
    func withRunningService(settings: Settings = Settings(), settleSeconds: Double = 0, partners: [String] = ["acme"],
                            beforeStart: (DataRoot) throws -> Void = { _ in },
                            _ body: (DataRoot, ManualTime, Passes) async throws -> Void) async throws {
        try await withTemporaryDirectory { dir in
            let root = DataRoot(dir + "/var")
            for partner in partners { try root.prepare(partner: partner) }
            try beforeStart(root)
            let time = ManualTime()
            var configuration = WatchConfiguration(root: root)
            configuration.settleSeconds = settleSeconds
            configuration.tickMilliseconds = 10
            var logger = Logger(label: "test.watch")
            logger.logLevel = .critical
            let ready = Atomic<Bool>(false)
            let passes = Passes()
            let service = WatchService(configuration: configuration, settings: SettingsBox(settings), logger: logger, clock: time,
                                       observer: WatchObserver(ready: { ready.store(true, ordering: .releasing) }, passed: passes.record))
            let group = ServiceGroup(services: [service], logger: logger)
            let running = Task { try await group.run() }
            defer { running.cancel() }
            try #require(await eventually { ready.load(ordering: .acquiring) })
            try await body(root, time, passes)
            await group.triggerGracefulShutdown()
            try await running.value
        }
    }

    /// A partner's `inbox/check` replaced by a symbolic link (to another partner's inbox, here
    /// to a folder beside the data root) is never followed: not at the start's scan, not by a
    /// watch. The link itself is refused like any link in the inbox and set aside.
    @Test func aCheckFolderReplacedByALinkIsSetAsideAndNeverFollowed() async throws {
        var elsewhere = ""
        try await withRunningService(settleSeconds: 1, beforeStart: { root in
            elsewhere = FileSystem.parent(of: root.partners) + "/elsewhere"
            try FileSystem.createDirectories(elsewhere)
            try writeFile(elsewhere + "/secret.csv", customersCSV(prefix: "X", count: 2))
            try FileManager.default.createSymbolicLink(atPath: root.inbox("acme", check: true), withDestinationPath: elsewhere)
        }) { root, time, passes in
            time.advance(by: 5)
            try #require(await eventually { FileSystem.linkStatus(root.inbox("acme", check: true)) == nil }, "the link is set aside")
            #expect(try FileSystem.contents(of: root.refused("acme")).count == 1)
            // A pass after the refusal, so that the count below is not the link's.
            try #require(await eventually { passes.waiting == 0 })
            // A file dropped behind the link after the start is not taken either.
            try drop(customersCSV(prefix: "Y", count: 1), into: elsewhere, as: "later.csv")
            try drop(customersCSV(prefix: "A", count: 1), into: root.inbox("acme"), as: "own.csv")
            try #require(await eventually { passes.waiting == 1 }, "only its own upload waits")
            time.advance(by: 5)
            let db = try Database(path: root.database)
            try #require(await eventually { (try? db.scalar("SELECT count(*) FROM customers WHERE partner = 'acme'")) == 1 })
            #expect(Set(try FileSystem.contents(of: elsewhere)) == ["secret.csv", "later.csv"])
            #expect(try db.scalar("SELECT count(*) FROM journal") == 1)
        }
    }

    /// `temporary_names_only`: a file written in place waits however long it stays quiet; one
    /// renamed into place from a temporary name is taken.
    @Test func temporaryNamesOnlyTakesRenamesAndLeavesFilesWrittenInPlace() async throws {
        var settings = Settings()
        var strict = Settings.Partner()
        strict.temporaryNamesOnly = true
        settings.partners["acme"] = strict
        try await withRunningService(settings: settings, settleSeconds: 1) { root, time, passes in
            try writeClosingOnExec(customersCSV(prefix: "IN", count: 1), to: root.inboxFile("acme", "in-place.csv"))
            // An unrelated temporary file comes and goes: that releases only renames by link.
            try writeClosingOnExec("x", to: root.inboxFile("acme", "other.csv.filepart"))
            try FileManager.default.removeItem(atPath: root.inboxFile("acme", "other.csv.filepart"))
            try drop(customersCSV(prefix: "RN", count: 2), into: root.inbox("acme"), as: "renamed.csv")
            try #require(await eventually { passes.waiting == 2 })
            time.advance(by: 5)
            let db = try Database(path: root.database)
            try #require(await eventually { (try? db.scalar("SELECT count(*) FROM customers")) == 2 })
            try #require(await eventually { passes.waiting == 1 })
            time.advance(by: 60)
            let seen = passes.count
            try #require(await eventually { passes.count >= seen + 3 })
            #expect(FileSystem.exists(root.inboxFile("acme", "in-place.csv")), "written in place: waits for a rename")
            #expect(try db.scalar("SELECT count(*) FROM customers WHERE external_id LIKE 'IN-%'") == 0)
        }
    }
}
