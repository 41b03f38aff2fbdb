#if canImport(Glibc)
import Glibc
#endif
import IntakeStore
import IntakeSystem
import IntakeTestSupport
import Testing

/// The early-writeback hint the importer gives the kernel for the WAL while the result workbook
/// is compressed: a real `sync_file_range`, harmless to the transaction it runs inside.
@Suite struct WritebackTests {
    @Test func startWritebackIsARealSyscallWithItsErrorNamed() throws {
        try withTemporaryDirectory { dir in
            let file = try FileDescriptor(opening: dir + "/f", flags: O_WRONLY | O_CREAT)
            try file.writeAll(Array(repeating: UInt8(7), count: 1 << 20))
            try file.startWriteback()

            // A pipe has no pages to write back: the kernel says ESPIPE, and the error says which call.
            var ends: [Int32] = [0, 0]
            #expect(pipe(&ends) == 0)
            let reading = FileDescriptor(adopting: ends[0], path: "pipe")
            _ = FileDescriptor(adopting: ends[1], path: "pipe (write end)")
            #expect {
                try reading.startWriteback()
            } throws: { error in
                let error = error as? SystemError
                return error?.code == ESPIPE && error?.description.contains("sync_file_range") == true
            }
        }
    }

    /// The hint reaches the connection's WAL file (a database without one says so), and giving it
    /// inside an open transaction leaves the transaction whole.
    @Test func walWritebackReachesTheWALAndKeepsTheTransactionWhole() throws {
        try withTemporaryDirectory { dir in
            let database = try Database(path: dir + "/db.sqlite")
            try database.execute("CREATE TABLE t (x TEXT)")
            var hinted = false
            try database.transaction {
                for i in 0..<2_000 { try database.execute("INSERT INTO t VALUES ('row \(i) \(String(repeating: "x", count: 200))')") }
                try database.flushCache()
                hinted = database.startWALWriteback()
                try database.execute("INSERT INTO t VALUES ('last')")
            }
            #expect(hinted, "the hint must find and reach the WAL")
            let reader = try Database(path: dir + "/db.sqlite")
            #expect(try reader.scalar("SELECT count(*) FROM t") == 2_001)

            // An in-memory database has no WAL file: nothing to hint, and it says so.
            #expect(try Database(path: ":memory:").startWALWriteback() == false)
        }
    }
}
