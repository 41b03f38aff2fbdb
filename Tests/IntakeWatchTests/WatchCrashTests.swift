import Foundation
import IntakeStore
import IntakeTestSupport
import Testing

/// The daemon killed with SIGKILL at many points while files flow, restarted each time: every
/// file ends imported exactly once and in exactly one place, on either store.
@Suite struct WatchCrashTests {
    @Test(arguments: StoreKind.allCases) func sigkillWhileFilesFlow(_ kind: StoreKind) async throws {
        try await onOwnThread { try Self.sigkillWhileFilesFlow(kind) }
    }

    static func sigkillWhileFilesFlow(_ kind: StoreKind) throws {
        try withDaemonRoot { root in
            let url = kind == .postgres ? try PostgresServer.shared().newDatabase() : nil
            let daemon = Daemon(root: root, arguments: url.map { ["--db", $0] } ?? [])
            /// The first column of the first row of `sql`, on the store under test.
            func scalar(_ sql: String) throws -> Int64? {
                if let url { return try PostgresServer.rows(url, sql).first.flatMap { Int64($0) } }
                return try daemon.database().scalar(sql)
            }
            try daemon.addPartner("acme")
            var generator = SplitMix64(seed: 20_261_123)
            let rounds = 10, filesPerRound = 3, rowsPerFile = 2_000
            var dropped: [String] = []
            // Points inside a file's processing; kills between files happen anyway as files finish.
            let markers = ["] claimed", "] import started", "] import finished"]
            var killedMidFile = 0

            for round in 0..<rounds {
                try daemon.start()
                let logBefore = daemon.logText
                for k in 0..<filesPerRound {
                    let name = "r\(round)-f\(k).csv"
                    try drop(customersCSV(prefix: "R\(round)F\(k)", count: rowsPerFile), into: daemon.inbox("acme"), as: name)
                    dropped.append(name)
                }
                // Kill after a random number of a random kind of step in this run.
                let marker = markers[Int(generator.next() % UInt64(markers.count))]
                let count = 1 + Int(generator.next() % UInt64(filesPerRound))
                waitUntil(timeout: 120) {
                    String(daemon.logText.dropFirst(logBefore.count)).components(separatedBy: marker).count - 1 >= count
                }
                daemon.stop(SIGKILL)
                // A file left in the processing area was in hand when the kill landed.
                if !((try? FileManager.default.contentsOfDirectory(atPath: root + "/state/processing/acme")) ?? []).isEmpty { killedMidFile += 1 }
            }

            // A last, undisturbed run finishes everything.
            try daemon.start()
            defer { daemon.stop() }
            let inbox = daemon.inbox("acme")
            let finished = waitUntil(timeout: 300) {
                let pending = (try? scalar("SELECT count(*) FROM journal WHERE step != 'archived'")) ?? nil
                let inboxEmpty = ((try? FileManager.default.contentsOfDirectory(atPath: inbox)) ?? ["?"]).isEmpty
                let processingEmpty = ((try? FileManager.default.contentsOfDirectory(atPath: root + "/state/processing/acme")) ?? []).isEmpty
                return inboxEmpty && processingEmpty && pending == 0
            }
            try #require(finished, "not everything was processed; log:\n\(daemon.logText.suffix(3000))")

            if url == nil { #expect(try daemon.database().cachedStatement("PRAGMA integrity_check").rows() == [["ok"]]) }
            #expect(try scalar("SELECT count(*) FROM imports WHERE status = 'completed'") == Int64(dropped.count), "each file imported once")
            #expect(try scalar("SELECT count(DISTINCT file_name) FROM imports WHERE status = 'completed'") == Int64(dropped.count))
            #expect(try scalar("SELECT count(*) FROM imports WHERE status != 'completed'") == 0, "no duplicates, no failures")
            #expect(try scalar("SELECT count(*) FROM customers") == Int64(dropped.count * rowsPerFile))
            // Every file in exactly one place: the processed archive; none in the inbox or processing.
            let archived = try FileManager.default.contentsOfDirectory(atPath: root + "/state/archive/acme/processed")
            #expect(archived.count == dropped.count)
            for name in dropped { #expect(archived.filter { $0.hasSuffix("--" + name) }.count == 1, "\(name)") }
            #expect(((try? FileManager.default.contentsOfDirectory(atPath: root + "/state/processing/acme")) ?? []).isEmpty)
            #expect(daemon.results("acme").count == dropped.count, "one result per file")
            #expect(killedMidFile >= rounds / 4, "kills should land while a file was in hand (\(killedMidFile) of \(rounds))")
        }
    }
}
