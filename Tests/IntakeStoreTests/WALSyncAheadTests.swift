import IntakeStore
import IntakeTestSupport
import Testing

/// The importer syncs the WAL ahead of the commit while the result workbook is compressed: on
/// a descriptor of its own, harmless to the transaction it runs inside.
@Suite struct WALSyncAheadTests {
    /// The sync reaches the connection's WAL file (a database without one says so), and running
    /// it inside an open transaction leaves the transaction whole.
    @Test func syncingTheWALAheadReachesItAndKeepsTheTransactionWhole() throws {
        try withTemporaryDirectory { dir in
            let database = try Database(path: dir + "/db.sqlite")
            try database.execute("CREATE TABLE t (x TEXT)")
            var synced = false
            try database.transaction {
                for i in 0..<2_000 { try database.execute("INSERT INTO t VALUES ('row \(i) \(String(repeating: "x", count: 200))')") }
                try database.flushCache()
                synced = database.syncWALAhead()
                try database.execute("INSERT INTO t VALUES ('last')")
            }
            #expect(synced, "the sync must find and reach the WAL")
            let reader = try Database(path: dir + "/db.sqlite")
            #expect(try reader.scalar("SELECT count(*) FROM t") == 2_001)

            // An in-memory database has no WAL file: nothing to sync, and it says so.
            #expect(try Database(path: ":memory:").syncWALAhead() == false)
        }
    }
}
