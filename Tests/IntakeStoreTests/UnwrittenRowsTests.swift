import IntakeStore
import IntakeTestSupport
import Testing

/// Repeats of rows an import left unwritten are found exactly, in memory and after the ids
/// moved to the temporary table (a budget of a few KiB forces that here).
@Suite struct UnwrittenRowsTests {
    @Test(arguments: [UInt64(1 << 20), 4_096, 512])
    func repeatsOfUnwrittenRowsAreFoundWhereverTheIdsAre(budget: UInt64) throws {
        try withTemporaryDirectory { dir in
            let db = try Database(path: dir + "/intake.sqlite")
            try db.execute("INSERT INTO imports (id, partner, file_name, sha256, size, status, started_at) VALUES (1, 'p', 'a', '', 0, 'completed', 'x'), (2, 'p', 'b', '', 0, 'completed', 'x')")
            let ids = (0..<3_000).map { "id-\($0)-" + String(repeating: "é", count: $0 % 7) }
            try db.transaction {
                let first = try CustomerWriter(database: db, partner: "p", importID: 1, mode: .merge, now: "2026-01-01 00:00:00")
                for (n, id) in ids.enumerated() {
                    #expect(try first.apply(CustomerUpdate(externalID: id, email: nil, name: "n", phone: nil, createdAt: nil, attributesJSON: "{}"), row: n + 2) == .created)
                }
                try first.finish()
            }
            try db.transaction {
                let again = try CustomerWriter(database: db, partner: "p", importID: 2, mode: .merge, now: "2026-01-01 00:00:00")
                again.unwrittenMemoryBudget = Int(budget)
                var row = 2
                for id in ids {
                    #expect(try again.apply(CustomerUpdate(externalID: id, email: nil, name: "n", phone: nil, createdAt: nil, attributesJSON: "{}"), row: row) == .unchanged)
                    row += 1
                }
                // Every id again: each is a repeat of its first row, whether the repeat would
                // change the customer or not, and nothing is written.
                for (n, id) in ids.enumerated() where n % 3 == 0 {
                    let name = n % 2 == 0 ? "n" : "changed"
                    #expect(try again.apply(CustomerUpdate(externalID: id, email: nil, name: name, phone: nil, createdAt: nil, attributesJSON: "{}"), row: row) == .repeated(firstRow: n + 2))
                    row += 1
                }
                // A new id, and one that is a known id cut short by one character.
                #expect(try again.apply(CustomerUpdate(externalID: "fresh", email: nil, name: "x", phone: nil, createdAt: nil, attributesJSON: "{}"), row: row) == .created)
                #expect(try again.apply(CustomerUpdate(externalID: "id-2-é", email: nil, name: "x", phone: nil, createdAt: nil, attributesJSON: "{}"), row: row + 1) == .created)
                try again.finish()
            }
            #expect(try db.scalar("SELECT count(*) FROM customers WHERE name = 'changed'") == 0)
            #expect(try db.scalar("SELECT count(*) FROM customers WHERE updated_by_import = 2") == 2)
        }
    }
}
