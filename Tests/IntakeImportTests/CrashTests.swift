import Foundation
import IntakeStore
import IntakeTestSupport
import Testing

/// A child `intake import` killed with SIGKILL at many points leaves each file all-or-nothing.
@Suite struct CrashTests {
    static let rows = 20_000

    static func file(_ path: String, label: String, extra: Int = 0) throws {
        var text = "external_id,email,name,phone,created_at,segment\n"
        for i in 0..<(rows + extra) {
            text += "C-\(i),user\(i)@example.com,\(label) \(i),+7900\(String(100_000 + i)),2018-01-01 00:11:22,\"\(label), \(i % 7)\"\n"
        }
        try writeFile(path, text)
    }

    @Test func sigkillLeavesAllOrNothing() throws {
        try withTemporaryDirectory { dir in
            let base = dir + "/base.csv", update = dir + "/update.csv"
            try Self.file(base, label: "Base")
            try Self.file(update, label: "Updated", extra: 2_000)
            var killedMidway = 0
            // Kill points: as soon as the child starts, then as the write-ahead log grows.
            let thresholds = [0, 64 << 10, 512 << 10, 1 << 20, 2 << 20, 4 << 20, 8 << 20, 16 << 20]
            for (round, threshold) in thresholds.enumerated() {
                let root = dir + "/round\(round)"
                let wal = root + "/state/intake.sqlite-wal"
                let killFirstImport = round % 2 == 0
                if !killFirstImport {
                    let done = try runChild(TestPaths.intake, ["import", base, "--root", root, "--partner", "acme"])
                    try #require(done.status == 0, "\(done.stderr)")
                }
                let startWAL = fileSize(wal)
                let pid = try spawnChild(TestPaths.intake, ["import", killFirstImport ? base : update, "--root", root, "--partner", "acme"],
                                         stdout: dir + "/out", stderr: dir + "/err")
                var exit: Int32?
                waitUntil(timeout: 120) {
                    exit = reapIfExited(pid)
                    return exit != nil || fileSize(wal) - startWAL >= threshold
                }
                if exit == nil {
                    kill(pid, SIGKILL)
                    var status: Int32 = 0
                    waitpid(pid, &status, 0)
                    exit = status
                    if status & 0x7F == SIGKILL { killedMidway += 1 }
                }

                // Killed before it created anything: an empty database is "none of the file".
                try FileManager.default.createDirectory(atPath: root + "/state", withIntermediateDirectories: true)
                let db = try Database(path: root + "/state/intake.sqlite")
                #expect(try db.cachedStatement("PRAGMA integrity_check").rows() == [["ok"]])
                let total = try db.scalar("SELECT count(*) FROM customers WHERE partner = 'acme'") ?? -1
                let updated = try db.scalar("SELECT count(*) FROM customers WHERE name LIKE 'Updated %'") ?? -1
                let completed = try db.scalar("SELECT count(*) FROM imports WHERE status = 'completed'") ?? -1
                if killFirstImport {
                    #expect([0, Int64(Self.rows)].contains(total), "round \(round): \(total) customers")
                    #expect(completed == (total == 0 ? 0 : 1))
                } else {
                    let before = (total, updated) == (Int64(Self.rows), 0)
                    let after = (total, updated) == (Int64(Self.rows + 2_000), Int64(Self.rows + 2_000))
                    #expect(before || after, "round \(round): \(total) customers, \(updated) updated")
                    #expect(completed == (after ? 2 : 1))
                }
            }
            #expect(killedMidway >= 4, "the child should have been killed mid-import in most rounds")
        }
    }
}
