import Foundation
import IntakeTestSupport
import Synchronization
import Testing

@testable import IntakeStorePostgres

/// The libpq layer against a real server: typed errors, COPY's escaping, streaming, migrations.
@Suite struct PostgresConnectionTests {
    @Test func errorsCarryTheServersReasonAndState() throws {
        let connection = try PostgresConnection(try PostgresServer.shared().newDatabase())
        let error = try #require(throws: PostgresError.self) { try connection.query("SELECT * FROM no_such_table") }
        #expect(error.sqlState == "42P01")
        #expect(error.message.contains("no_such_table"))
        #expect(error.description.contains("SELECT * FROM no_such_table"))
        let refused = try #require(throws: PostgresError.self) { try PostgresConnection("postgres://intake@127.0.0.1:\(try freeLoopbackPort())/x") }
        #expect(refused.message.contains("127.0.0.1"), "libpq's reason names the address it could not reach")
    }

    @Test func copyCarriesEveryCharacterAndStreamsRowsBack() throws {
        let connection = try PostgresConnection(try PostgresServer.shared().newDatabase())
        try connection.execute("CREATE TABLE t (n int, v text)")
        let awkward = ["back\\slash", "tab\there", "new\nline", "cr\rlf", "\\N", "", "ünïcødé 🎉", "quote\"s"]
        let copy = try connection.copyIn("COPY t FROM STDIN")
        for (n, value) in awkward.enumerated() { try copy.add([String(n), value]) }
        try copy.add(["99", nil])
        // Enough rows to cross the writer's chunk size more than once.
        for n in 100..<20_100 { try copy.add([String(n), String(repeating: "x", count: 30)]) }
        try copy.finish()
        var back: [String?] = []
        try connection.stream("SELECT v FROM t WHERE n < 100 ORDER BY n") { back.append($0[0]) }
        #expect(back == awkward.map { Optional($0) } + [nil])
        #expect(try connection.scalar("SELECT count(*) FROM t") == "20009")
    }

    @Test func connectionStringsAreToldFromPaths() {
        #expect(PostgresConnection.isConnectionString("postgres://u@h/db"))
        #expect(PostgresConnection.isConnectionString("host=db dbname=intake"))
        #expect(PostgresConnection.isConnectionString("host = db dbname = intake"))
        #expect(!PostgresConnection.isConnectionString("/srv/intake/state/intake.sqlite"))
        #expect(!PostgresConnection.isConnectionString("/srv/a b/x.sqlite"))
    }

    @Test func aRefusedCopyRowIsAnError() throws {
        let connection = try PostgresConnection(try PostgresServer.shared().newDatabase())
        try connection.execute("CREATE TABLE t (n int)")
        let copy = try connection.copyIn("COPY t FROM STDIN")
        try copy.add(["not a number"])
        let error = try #require(throws: PostgresError.self) { try copy.finish() }
        #expect(error.sqlState == "22P02")
        #expect(try connection.scalar("SELECT 1") == "1", "the connection is usable after the failed copy")
    }

    /// COMMIT of a transaction a failed statement aborted is answered ROLLBACK: an error here.
    @Test func aCommitThatRollsBackIsAnError() throws {
        let connection = try PostgresConnection(try PostgresServer.shared().newDatabase())
        try connection.execute("CREATE TABLE t (n int)")
        let error = try #require(throws: PostgresError.self) {
            try connection.transaction(commit: true) {
                try connection.execute("INSERT INTO t VALUES (1)")
                _ = try? connection.execute("SELECT * FROM no_such_table")
            }
        }
        #expect(error.message.contains("rolled back"))
        #expect(try connection.scalar("SELECT count(*) FROM t") == "0")
    }

    /// A connection whose server session ended (a restart, a failover, an operator's
    /// pg_terminate_backend) fails its statements until it is told to connect again, at a point
    /// where nothing of the old session (a partner's turn) is relied on.
    @Test func aBrokenConnectionConnectsAgain() throws {
        let url = try PostgresServer.shared().newDatabase()
        let connection = try PostgresConnection(url)
        let pid = try #require(try connection.scalar("SELECT pg_backend_pid()"))
        let other = try PostgresConnection(url)
        try other.query("SELECT pg_terminate_backend($1::int)", [pid])
        #expect(throws: PostgresError.self) { try connection.scalar("SELECT 1") }
        #expect(throws: PostgresError.self) { try connection.scalar("SELECT 1") }
        try connection.reconnectIfBroken()
        #expect(try connection.scalar("SELECT 1") == "1")
        #expect(try connection.scalar("SHOW jit") == "off", "the session's settings are made again")
    }

    /// A rejected row's cells go through COPY packed into one field and come back exactly.
    @Test func cellsPackAndUnpackExactly() throws {
        let connection = try PostgresConnection(try PostgresServer.shared().newDatabase())
        try connection.execute("CREATE TABLE t (n int, cells text)")
        let rows: [[String]] = [[], [""], ["a", "", "b:c", "12:34", "ünï", "\n\t\\"], [String(repeating: "é", count: 300), "1"],
                                ["N\u{0}1", "x\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}y", "after"]]
        let copy = try connection.copyIn("COPY t FROM STDIN")
        for (n, cells) in rows.enumerated() {
            copy.integer(n)
            copy.packed(cells)
            try copy.endRow()
        }
        try copy.finish()
        var back: [[String]] = []
        try connection.stream("SELECT cells FROM t ORDER BY n") { back.append(CellPacking.unpack($0[0] ?? "")) }
        // PostgreSQL's text holds no NUL: each comes back as U+FFFD, and the cells stay apart.
        #expect(back == rows.map { $0.map { $0.replacingOccurrences(of: "\u{0}", with: "\u{FFFD}") } })
        #expect(CellPacking.unpack("99999999999999999999999999:x") == [], "a damaged length never traps")
    }

    /// Several nodes may start against a new database at once: one migrates, the others wait
    /// and find the schema current.
    @Test func concurrentMigrationsRunOnce() throws {
        let url = try PostgresServer.shared().newDatabase()
        // Threads of their own: each blocks on the server's lock, which must not hold up the
        // cooperative threads other tests run on.
        let done = DispatchGroup()
        let failures = Mutex<[String]>([])
        for _ in 0..<4 {
            done.enter()
            Thread.detachNewThread {
                do { _ = try PostgresImportStore(url: url) } catch { failures.withLock { $0.append("\(error)") } }
                done.leave()
            }
        }
        done.wait()
        #expect(failures.withLock { $0 } == [])
        let connection = try PostgresConnection(url)
        let versions = try connection.scalar("SELECT string_agg(version::text, ',' ORDER BY version) FROM intake_schema")
        #expect(versions == (1...PostgresSchema.currentVersion).map(String.init).joined(separator: ","), "each migration once")
    }

    /// A failed import attempt is recorded as a failure and taken back as an attempt in one
    /// statement; a failure at a later step (no attempt of its own) leaves the attempts alone.
    @Test func aFailedImportAttemptIsAFailureNotACrash() throws {
        let store = try PostgresImportStore(url: try PostgresServer.shared().newDatabase())
        let journal = PostgresJournal(store: store, node: "n1")
        let id = try journal.claimed(partner: "acme", fileName: "a.csv", processingPath: "/p/x", dryRun: false, inode: nil, now: "2026-01-01 00:00:00")
        #expect(try journal.beginAttempt(id, now: "2026-01-01 00:00:01") == 1)
        #expect(try journal.failed(id, error: "disk full", takingBackAttempt: true, now: "2026-01-01 00:00:02") == 1)
        #expect(try journal.entry(id)?.attempts == 0)
        #expect(try journal.beginAttempt(id, now: "2026-01-01 00:00:03") == 1)
        #expect(try journal.failed(id, error: "EIO", takingBackAttempt: false, now: "2026-01-01 00:00:04") == 2)
        let entry = try #require(try journal.entry(id))
        #expect(entry.attempts == 1 && entry.failures == 2 && entry.lastError == "EIO")
    }

    /// A database a newer Intake migrated is refused, not read and written without what that
    /// version changed (as SQLite refuses a newer `user_version`).
    @Test func aDatabaseOfANewerIntakeIsRefused() throws {
        let url = try PostgresServer.shared().newDatabase()
        _ = try PostgresImportStore(url: url)
        try PostgresConnection(url).execute("INSERT INTO intake_schema (version) VALUES (\(PostgresSchema.currentVersion + 1))")
        let error = try #require(throws: PostgresError.self) { _ = try PostgresImportStore(url: url) }
        #expect(error.message.contains("newer than this Intake's \(PostgresSchema.currentVersion)"), "\(error)")
    }
}
