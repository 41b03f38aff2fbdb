import IntakeStore
import IntakeTestSupport
import Testing

/// "Unchanged" means nothing would change, exactly: every field and every attribute (its value
/// and its JSON type) as the mode would leave them; anything else is written.
@Suite struct UnchangedVerdictTests {
    static let stored = CustomerUpdate(externalID: "c", email: "a@example.com", name: "Ann", phone: "+100", createdAt: "2018-01-01 00:00:00",
                                       attributesJSON: #"{"a":"1","b":"2"}"#)

    static func given(email: String? = "a@example.com", name: String? = "Ann", phone: String? = "+100",
                      createdAt: String? = "2018-01-01 00:00:00", attributes: String = #"{"a":"1","b":"2"}"#) -> CustomerUpdate {
        CustomerUpdate(externalID: "c", email: email, name: name, phone: phone, createdAt: createdAt, attributesJSON: attributes)
    }

    @Test(arguments: [
        ("same values", ImportMode.merge, given(), UpsertResult.unchanged),
        ("every cell empty", .merge, given(email: nil, name: nil, phone: nil, createdAt: nil, attributes: "{}"), .unchanged),
        ("a subset of the attributes", .merge, given(attributes: #"{"a":"1"}"#), .unchanged),
        ("the attributes in another order", .merge, given(attributes: #"{"b":"2","a":"1"}"#), .unchanged),
        ("another email", .merge, given(email: "b@example.com"), .updated),
        ("another name", .merge, given(name: "Anna"), .updated),
        ("another phone", .merge, given(phone: "+101"), .updated),
        ("another created_at", .merge, given(createdAt: "2018-01-01 00:00:01"), .updated),
        ("another attribute value", .merge, given(attributes: #"{"a":"2"}"#), .updated),
        ("a number where a string was", .merge, given(attributes: #"{"a":1}"#), .updated),
        ("a new attribute", .merge, given(attributes: #"{"c":"3"}"#), .updated),
        ("same values", .replace, given(), .unchanged),
        ("an empty cell clears", .replace, given(name: nil), .updated),
        ("fewer attributes", .replace, given(attributes: #"{"a":"1"}"#), .updated),
        ("no attributes", .replace, given(attributes: "{}"), .updated),
        ("same values", .updateOnly, given(), .unchanged),
        ("every cell empty", .updateOnly, given(email: nil, name: nil, phone: nil, createdAt: nil, attributes: "{}"), .unchanged),
        ("another email", .updateOnly, given(email: "b@example.com"), .updated),
    ] as [(String, ImportMode, CustomerUpdate, UpsertResult)])
    func verdict(_ what: String, _ mode: ImportMode, _ update: CustomerUpdate, _ expected: UpsertResult) throws {
        try withTemporaryDirectory { dir in
            let db = try Database(path: dir + "/intake.sqlite")
            try db.execute("INSERT INTO imports (id, partner, file_name, sha256, size, status, started_at) VALUES (1, 'p', 'a', '', 0, 'completed', 'x'), (2, 'p', 'b', '', 0, 'completed', 'x')")
            try db.transaction {
                let first = try CustomerWriter(database: db, partner: "p", importID: 1, mode: .merge, now: "2026-01-01 00:00:00")
                #expect(try first.apply(Self.stored, row: 2) == .created)
                try first.finish()
            }
            let before = try db.cachedStatement("SELECT * FROM customers").rows()
            let result = try db.transaction {
                let writer = try CustomerWriter(database: db, partner: "p", importID: 2, mode: mode, now: "2026-01-02 00:00:00")
                defer { try? writer.finish() }
                return try writer.apply(update, row: 2)
            }
            #expect(result == expected, "\(mode.rawValue), \(what)")
            let after = try db.cachedStatement("SELECT * FROM customers").rows()
            // Unchanged leaves the row as it was, to the last column; anything else is a write.
            #expect((after == before) == (expected == .unchanged), "\(mode.rawValue), \(what)")
            #expect(try db.scalar("SELECT count(*) FROM customer_changes") == (expected == .updated ? 1 : 0))
        }
    }
}
