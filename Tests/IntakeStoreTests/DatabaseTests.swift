import IntakeStore
import IntakeTestSupport
import Testing

/// The SQLite layer on a real database file: transactions, the statement cache, the import log
/// and the journal's steps.
@Suite struct DatabaseTests {
    func withDatabase<T>(_ body: (Database) throws -> T) throws -> T {
        try withTemporaryDirectory { dir in try body(try Database(path: dir + "/intake.sqlite")) }
    }

    @Test func transactionsCommitRollBackOrAreRolledBackOnPurpose() throws {
        try withDatabase { db in
            try db.execute("CREATE TABLE t (x INTEGER)")
            try db.transaction { try db.execute("INSERT INTO t VALUES (1)") }
            struct Failure: Error {}
            #expect(throws: Failure.self) {
                try db.transaction {
                    try db.execute("INSERT INTO t VALUES (2)")
                    throw Failure()
                }
            }
            // A dry run: its own writes are visible inside, nothing is left after.
            let inside = try db.transaction(commit: false) {
                try db.execute("INSERT INTO t VALUES (3)")
                return try db.scalar("SELECT count(*) FROM t")
            }
            #expect(inside == 2)
            #expect(try db.cachedStatement("SELECT x FROM t").rows() == [["1"]])
        }
    }

    @Test func cachedStatementsAreSharedAndReset() throws {
        try withDatabase { db in
            try db.execute("CREATE TABLE t (x TEXT); INSERT INTO t VALUES ('a'), ('b')")
            let first = try db.cachedStatement("SELECT x FROM t ORDER BY x")
            #expect(try first.step() && first.text(0) == "a")
            let again = try db.cachedStatement("SELECT x FROM t ORDER BY x")
            #expect(first === again, "one statement per SQL text")
            #expect(try again.step() && again.text(0) == "a", "handed out reset, from the first row")
            #expect(throws: SQLiteError.self) { try db.cachedStatement("SELECT nonsense FROM nowhere") }
        }
    }

    /// A statement keeps each bound text in a buffer of its own, which SQLite reads in place: a
    /// parameter bound again (longer, shorter, empty) reads its new text, one not bound again
    /// keeps its text across resets, and a binding refused mid-statement changes nothing.
    @Test func boundTextsStayWhatWasBoundUntilBoundAgain() throws {
        try withDatabase { db in
            let select = try db.cachedStatement("SELECT ?1, ?2, ?2 IS NULL")
            func row() throws -> [String?] {
                #expect(try select.step())
                defer { select.rewind() }
                return [select.text(0), select.text(1), select.text(2)]
            }
            try select.bind("first", at: 1)
            try select.bind("short", at: 2)
            #expect(try row() == ["first", "short", "0"])
            let long = String(repeating: "long text, ", count: 500)
            try select.bind(long, at: 2)
            #expect(try row() == ["first", long, "0"])
            try select.bind("", at: 2)
            #expect(try row() == ["first", "", "0"])
            try select.bind(utf8: Array("bytes".utf8), at: 1)
            #expect(try row() == ["bytes", "", "0"])
            try select.bind(utf8: nil as UnsafeBufferPointer<UInt8>?, at: 2)
            #expect(try row() == ["bytes", nil, "1"])
            try select.bind("back", at: 2)
            #expect(try row() == ["bytes", "back", "0"])

            // Stepped to its end and not reset, a statement refuses a binding and keeps the old one.
            #expect(try select.step())
            #expect(try !select.step())
            #expect(throws: SQLiteError.self) { try select.bind(String(repeating: "x", count: 1_000), at: 2) }
            select.rewind()
            #expect(try row() == ["bytes", "back", "0"])

            try db.execute("CREATE TABLE t (x TEXT); INSERT INTO t VALUES ('a'), ('b'), ('c')")
            let scan = try db.cachedStatement("SELECT x, ?1 FROM t WHERE x >= ?1")
            try scan.bind("b", at: 1)
            #expect(try scan.step())
            #expect(throws: SQLiteError.self) { try scan.bind("zzzzzzzz", at: 1) }
            #expect(try scan.step())
            #expect(scan.text(0) == "c" && scan.text(1) == "b")
            scan.rewind()
        }
    }

    @Test func importLogRoundTrip() throws {
        try withDatabase { db in
            let log = ImportLog(database: db)
            var record = ImportRecord(partner: "acme", fileName: "a.csv", sha256: "abc", size: 10, startedAt: "2018-01-01 00:11:22")
            record.id = try log.insert(record)
            record.status = .completed
            record.created = 3
            record.finishedAt = "2018-01-01 00:11:23"
            try log.update(record)
            #expect(try log.find(record.id) == record)
            #expect(try log.completedImport(partner: "acme", sha256: "abc")?.id == record.id)
            #expect(try log.completedImport(partner: "other", sha256: "abc") == nil, "partners never see each other's files")
            record.undoneAt = "2018-01-02 00:00:00"
            try log.update(record)
            #expect(try log.completedImport(partner: "acme", sha256: "abc") == nil, "an undone import no longer stands")
            #expect(try log.list(partner: "acme").map(\.id) == [record.id])

            // What identifies the file stays as inserted.
            var renamed = record
            renamed.fileName = "b.csv"
            renamed.sha256 = "def"
            renamed.status = .rejected
            try log.update(renamed)
            let found = try #require(try log.find(record.id))
            #expect(found.fileName == "a.csv" && found.sha256 == "abc" && found.status == .rejected)
        }
    }

    @Test func journalStepsAndOutcome() throws {
        try withDatabase { db in
            let journal = Journal(database: db)
            let id = try journal.claimed(partner: "acme", fileName: "a.csv", processingPath: "/p/x", dryRun: true, now: "2018-01-01 00:00:00")
            #expect(try journal.knows(processingPath: "/p/x"))
            #expect(try journal.beginAttempt(id, now: "2018-01-01 00:00:01") == 1)
            try journal.abandonAttempt(id, now: "2018-01-01 00:00:02")
            #expect(try journal.entry(id)?.attempts == 0)
            // A failed import attempt: a failure, and the attempt taken back, in one statement.
            #expect(try journal.beginAttempt(id, now: "2018-01-01 00:00:02") == 1)
            #expect(try journal.failed(id, error: "disk full", takingBackAttempt: true, now: "2018-01-01 00:00:02") == 1)
            #expect(try journal.entry(id)?.attempts == 0)
            #expect(try journal.beginAttempt(id, now: "2018-01-01 00:00:02") == 1)
            #expect(try journal.failed(id, error: "EIO", now: "2018-01-01 00:00:02") == 2, "a later step's failure")
            #expect(try journal.entry(id)?.attempts == 1 && journal.entry(id)?.lastError == "EIO")
            try journal.abandonAttempt(id, now: "2018-01-01 00:00:02")
            let importID = try ImportLog(database: db).insert(ImportRecord(partner: "acme", fileName: "a.csv", sha256: "abc", size: 10, startedAt: "2018-01-01 00:00:02"))
            try journal.imported(id, importID: importID, sha256: "abc", size: 10, outcome: .processed, now: "2018-01-01 00:00:03")
            var entry = try #require(try journal.entry(id))
            #expect(entry.step == .imported && entry.outcome == .processed && entry.importID == importID && entry.dryRun)
            try journal.advance(id, to: .resultWritten, now: "2018-01-01 00:00:04")
            try journal.advance(id, to: .archived, archivePath: "/a/x", now: "2018-01-01 00:00:05")
            entry = try #require(try journal.entry(id))
            #expect(entry.step == .archived && entry.archivePath == "/a/x")
            #expect(try journal.unfinished().isEmpty)
        }
    }
}
