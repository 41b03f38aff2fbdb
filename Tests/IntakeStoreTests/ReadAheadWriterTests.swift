@testable import IntakeStore
import IntakeTestSupport
import Testing

/// A file's writer compares a row with the customer the validating thread read ahead and does
/// not look it up; a single API write ignores a read-ahead and looks up. A read-ahead made to
/// disagree with the table shows which of the two each one used.
@Suite struct ReadAheadWriterTests {
    @Test func aFileWriterUsesWhatWasReadAheadAndAnAPIWriteLooksUp() throws {
        try withTemporaryDirectory { dir in
            let db = try Database(path: dir + "/intake.sqlite")
            try db.execute("""
                INSERT INTO imports (id, partner, file_name, sha256, size, status, started_at)
                VALUES (1, 'p', 'a', '', 0, 'completed', 'x'), (2, 'p', 'b', '', 0, 'completed', 'x'), (3, 'p', 'c', '', 0, 'completed', 'x')
                """)
            try db.transaction {
                let first = try CustomerWriter(database: db, partner: "p", importID: 1, mode: .merge, now: "2026-01-01 00:00:00")
                #expect(try first.apply(CustomerUpdate(externalID: "A", email: nil, name: "Ann", phone: nil, createdAt: nil, attributesJSON: "{}"), row: 2) == .created)
                try first.finish()
            }
            // What the snapshot would have held had A been named Bob.
            let made = try db.cachedStatement("SELECT NULL, 'Bob', NULL, NULL, '{}', 1, '2026-01-01 00:00:00', 2, NULL")
            #expect(try made.step())
            let bob = StoredRow(made)
            made.rewind()
            var update = CustomerUpdate(externalID: "A", email: nil, name: "Bob", phone: nil, createdAt: nil, attributesJSON: "{}")
            update.readAhead = .found(bob)

            try db.transaction {
                let file = try CustomerWriter(database: db, partner: "p", importID: 2, mode: .merge, now: "2026-01-02 00:00:00")
                #expect(try file.apply(update, row: 2) == .unchanged)
                try file.finish()
            }
            #expect(try db.cachedStatement("SELECT name FROM customers WHERE external_id = 'A'").rows().first?[0] == "Ann")

            try db.transaction {
                let api = try CustomerWriter(database: db, partner: "p", importID: 3, mode: .merge, now: "2026-01-03 00:00:00", skipChecks: false)
                #expect(try api.apply(update, row: 1) == .updated)
            }
            #expect(try db.cachedStatement("SELECT name FROM customers WHERE external_id = 'A'").rows().first?[0] == "Bob")
        }
    }
}
