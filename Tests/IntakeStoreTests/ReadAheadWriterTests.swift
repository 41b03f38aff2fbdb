import CSQLite
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

    /// A file's writer turns CHECK constraints, foreign keys and triggers off on its connection
    /// for its span; ``CustomerWriter/finish()`` turns all three back on while the writer still
    /// exists, and a writer given up without it (an import that failed) as it goes, so the
    /// connection's next writers and an operator's SQL meet them again.
    @Test(arguments: [true, false])
    func aFileWriterTurnsChecksForeignKeysAndTriggersBackOn(finished: Bool) throws {
        try withTemporaryDirectory { dir in
            let db = try Database(path: dir + "/intake.sqlite")
            try db.execute("INSERT INTO imports (id, partner, file_name, sha256, size, status, started_at) VALUES (1, 'p', 'a', '', 0, 'completed', 'x')")
            let orphan = "INSERT INTO customers (partner, external_id, created_by_import, updated_at) VALUES ('p', 'B', 99, 'x')"
            func expectEnforced() throws {
                // A customer whose import does not exist.
                let foreignKey = #expect(throws: SQLiteError.self) { try db.execute(orphan) }
                #expect(foreignKey?.code == SQLITE_CONSTRAINT | 3 << 8) // SQLITE_CONSTRAINT_FOREIGNKEY, a macro Swift cannot import
                // An operator's UPDATE that changes a value and not the digest: the trigger clears it.
                try db.execute("UPDATE customers SET name = 'Anna' WHERE external_id = 'A'")
                #expect(try db.scalar("SELECT count(*) FROM customers WHERE row_digest IS NULL") == 1)
                let check = #expect(throws: SQLiteError.self) {
                    try db.execute("UPDATE customers SET custom_attributes = 'not json' WHERE external_id = 'A'")
                }
                #expect(check?.code == SQLITE_CONSTRAINT | 1 << 8) // SQLITE_CONSTRAINT_CHECK
            }
            try db.transaction {
                let writer = try CustomerWriter(database: db, partner: "p", importID: 1, mode: .merge, now: "2026-01-01 00:00:00")
                var update = CustomerUpdate(externalID: "A", email: nil, name: "Ann", phone: nil, createdAt: nil, attributesJSON: "{}")
                update.rowDigest = 42
                #expect(try writer.apply(update, row: 2) == .created)
                // In the writer's span the foreign key is not checked.
                try db.execute(orphan)
                try db.execute("DELETE FROM customers WHERE external_id = 'B'")
                if finished {
                    try writer.finish()
                    try withExtendedLifetime(writer) { try expectEnforced() }
                }
            }
            if !finished { try expectEnforced() }
        }
    }

    /// A comparison the validating thread made rides with the read-ahead, and the file's writer
    /// takes it as it is: it neither compares again nor builds its own change record.
    @Test func aFileWriterTakesTheComparisonMadeAhead() throws {
        try withTemporaryDirectory { dir in
            let db = try Database(path: dir + "/intake.sqlite")
            try db.execute("""
                INSERT INTO imports (id, partner, file_name, sha256, size, status, started_at)
                VALUES (1, 'p', 'a', '', 0, 'completed', 'x'), (2, 'p', 'b', '', 0, 'completed', 'x')
                """)
            try db.transaction {
                let first = try CustomerWriter(database: db, partner: "p", importID: 1, mode: .merge, now: "2026-01-01 00:00:00")
                for id in ["A", "B"] {
                    #expect(try first.apply(CustomerUpdate(externalID: id, email: nil, name: "Ann", phone: nil, createdAt: nil, attributesJSON: "{}"), row: 2) == .created)
                }
                try first.finish()
            }
            let read = try db.cachedStatement(StoredRow.selectSQL)
            let storedA = try #require(try StoredRow.read(read, partner: "p", externalID: "A"))
            let storedB = try #require(try StoredRow.read(read, partner: "p", externalID: "B"))
            // A: the row gives another name, but the comparison says unchanged.
            var a = CustomerUpdate(externalID: "A", email: nil, name: "Zed", phone: nil, createdAt: nil, attributesJSON: "{}")
            a.readAhead = .compared(storedA, .unchanged)
            // B: the comparison's change record is the one stored.
            var b = CustomerUpdate(externalID: "B", email: nil, name: "Bea", phone: nil, createdAt: nil, attributesJSON: "{}")
            b.readAhead = .compared(storedB, .changes(attributes: nil, before: Array(#"{"name":"made ahead"}"#.utf8)))

            try db.transaction {
                let file = try CustomerWriter(database: db, partner: "p", importID: 2, mode: .merge, now: "2026-01-02 00:00:00")
                #expect(try file.apply(a, row: 2) == .unchanged)
                #expect(try file.apply(b, row: 3) == .updated)
                try file.finish()
            }
            #expect(try db.cachedStatement("SELECT external_id, name FROM customers ORDER BY external_id").rows() == [["A", "Ann"], ["B", "Bea"]])
            #expect(try db.cachedStatement("SELECT external_id, before FROM customer_changes").rows() == [["B", #"{"name":"made ahead"}"#]])
        }
    }
}
