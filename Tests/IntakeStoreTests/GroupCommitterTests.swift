import IntakeStore
import IntakeTestSupport
import Testing

/// The API's durable group commit on a real database: concurrent writes share transactions, a
/// failing write rolls back only itself, and a write lock held elsewhere past the bound is "busy".
@Suite struct GroupCommitterTests {
    struct Refused: Error {}

    @Test func concurrentWritesAllCommitAndAFailingOneOnlyItself() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/intake.sqlite"
            let setup = try Database(path: path)
            try setup.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)")
            let committer = try GroupCommitter<Database>(path: path, busySeconds: 5)
            let refusals = await withTaskGroup(of: Int.self) { group in
                for k in 0..<200 {
                    group.addTask {
                        do {
                            try await committer.write { db in
                                try db.cachedStatement("INSERT INTO t (k, v) VALUES (?1, 'x')").run([.integer(Int64(k))])
                                // Every tenth write fails after writing: its row must not stay.
                                if k % 10 == 0 { throw Refused() }
                            }
                            return 0
                        } catch is Refused {
                            return 1
                        } catch {
                            Issue.record("write \(k) failed: \(error)")
                            return 0
                        }
                    }
                }
                return await group.reduce(0, +)
            }
            committer.shutdown()
            #expect(refusals == 20)
            #expect(try setup.scalar("SELECT count(*) FROM t") == 180)
            #expect(try setup.scalar("SELECT count(*) FROM t WHERE k % 10 = 0") == 0)
        }
    }

    @Test func aWriteLockHeldPastTheBoundIsBusyAndTheNextWriteSucceeds() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/intake.sqlite"
            let holder = try Database(path: path)
            try holder.execute("CREATE TABLE t (k INTEGER)")
            let committer = try GroupCommitter<Database>(path: path, busySeconds: 0.2)
            try holder.execute("BEGIN IMMEDIATE")
            await #expect(throws: StoreBusy.self) {
                try await committer.write { db in try db.execute("INSERT INTO t VALUES (1)") }
            }
            try holder.execute("COMMIT")
            try await committer.write { db in try db.execute("INSERT INTO t VALUES (2)") }
            committer.shutdown()
            #expect(try holder.cachedStatement("SELECT k FROM t").rows() == [["2"]])
            await #expect(throws: StoreStopped.self) {
                try await committer.write { db in try db.execute("INSERT INTO t VALUES (3)") }
            }
        }
    }

    @Test func tokensAreFoundByDigestUntilRevoked() throws {
        try withTemporaryDirectory { dir in
            let tokens = APITokens(database: try Database(path: dir + "/intake.sqlite"))
            _ = try tokens.add(partner: "acme", name: "crm", sha256: "aa", now: "2026-01-01 00:00:00")
            #expect(throws: APITokens.Refusal.self) { try tokens.add(partner: "acme", name: "crm", sha256: "bb", now: "2026-01-01 00:00:00") }
            #expect(try tokens.principal(sha256: "aa")?.0 == APIPrincipal(partner: "acme", tokenName: "crm"))
            try tokens.revoke(partner: "acme", name: "crm", now: "2026-01-02 00:00:00")
            #expect(try tokens.principal(sha256: "aa") == nil)
            // The name is free again once revoked.
            _ = try tokens.add(partner: "acme", name: "crm", sha256: "cc", now: "2026-01-03 00:00:00")
            #expect(try tokens.list(partner: "acme").map(\.revokedAt) == ["2026-01-02 00:00:00", nil])
        }
    }
}
