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
        try await withTemporaryDirectory { dir in
            let root = DataRoot(dir + "/var")
            try root.prepare(partner: "acme")
            var settings = Settings()
            var slow = Settings.Partner()
            slow.settleSeconds = 600
            settings.partners["slow"] = slow
            try root.prepare(partner: "slow")
            let time = ManualTime()
            var configuration = WatchConfiguration(root: root)
            configuration.settleSeconds = 30
            configuration.tickMilliseconds = 10
            var logger = Logger(label: "test.watch")
            logger.logLevel = .critical
            let ready = Atomic<Bool>(false)
            let passes = Passes()
            let service = WatchService(configuration: configuration, settings: SettingsBox(settings), logger: logger, clock: time,
                                       observer: WatchObserver(ready: { ready.store(true, ordering: .releasing) }, passed: passes.record))
            let group = ServiceGroup(services: [service], logger: logger)
            let running = Task { try await group.run() }

            try #require(await eventually { ready.load(ordering: .acquiring) })
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

            await group.triggerGracefulShutdown()
            try await running.value
        }
    }
}
