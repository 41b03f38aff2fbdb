import Foundation
import IntakeImport
import IntakeStore
import IntakeTestSupport
import Testing

/// Rows sent again are passed over by their digest (see `StoredDigests`); these show that a
/// digest match means exactly "unchanged", and that every way a customer's values move away from
/// the row that wrote them sends the row through validation and comparison again.
@Suite struct RowDigestTests {
    static let header = "external_id,email,name,phone,created_at,tier\n"
    static let rows = [
        "A,a@example.com,Ann,+7 900 123-45-67,2018-01-01 00:11:22,gold",
        "B,b@example.com,Bob,,2018-01-01 00:11:22,",
        "C,c@example.com,Cid,,,silver",
    ]
    /// A file of `rows` under the header (the same rows in another order are other bytes, so not
    /// a duplicate of the file).
    static func file(_ rows: [String]) -> String { header + rows.joined(separator: "\n") + "\n" }
    static let replace = { var policy = ImportPolicy(); policy.mode = .replace; return policy }()

    @Test func aFileSentAgainIsPassedOverAndEveryOtherChangeIsSeen() throws {
        try withImportEnvironment { env in
            let first = try env.importText(Self.file(Self.rows), name: "base.csv")
            #expect(first.record.created == 3 && first.rowsMatchedByDigest == 0)
            let stored = try env.customers()

            // Sent again (rows reordered): all three unchanged by their digest, nothing written.
            let again = try env.importText(Self.file(Self.rows.reversed()), name: "again.csv")
            #expect((again.record.unchanged, again.rowsMatchedByDigest) == (3, 3))
            #expect(try env.customers() == stored)

            // Another file changes B: B's stored digest is that file's, so the base row for B is
            // compared again and B is put back; A and C are still passed over.
            let other = try env.importText(Self.file(["B,b@example.com,Bobby,,2018-01-01 00:11:22,"]), name: "other.csv")
            #expect(other.record.updated == 1)
            let back = try env.importText(Self.file([Self.rows[1], Self.rows[0], Self.rows[2]]), name: "back.csv")
            #expect((back.record.updated, back.record.unchanged, back.rowsMatchedByDigest) == (1, 2, 2))
            #expect(try env.customers() == stored)

            // The API changes C: its digest is cleared, and the base row puts C back.
            _ = try env.database.transaction {
                try APIWrites.apply(CustomerUpdate(externalID: "C", email: nil, name: "Cid API", phone: nil, createdAt: nil, attributesJSON: "{}"),
                                    mode: .merge, principal: APIPrincipal(partner: "acme", tokenName: "t"), request: "PUT /v4/consumers/C",
                                    bytes: 10, now: "2026-12-01 00:00:00", in: env.database)
            }
            let afterAPI = try env.importText(Self.file([Self.rows[2], Self.rows[1], Self.rows[0]]), name: "after-api.csv")
            #expect((afterAPI.record.updated, afterAPI.rowsMatchedByDigest) == (1, 2))
            #expect(try env.customers() == stored)

            // An operator's UPDATE (or an older Intake) changes A's email and not its digest: the
            // trigger clears the digest, and the base row puts A back.
            try env.database.execute("UPDATE customers SET email = 'fixed@example.com' WHERE external_id = 'A'")
            #expect(try env.database.scalar("SELECT count(*) FROM customers WHERE row_digest IS NULL") == 1)
            let afterSQL = try env.importText(Self.file([Self.rows[1], Self.rows[2], Self.rows[0]]), name: "after-sql.csv")
            #expect((afterSQL.record.updated, afterSQL.rowsMatchedByDigest) == (1, 2))
            #expect(try env.customers() == stored)

            // The same cells under a renamed column digest differently (the header is hashed):
            // compared in full, so A and C gain the attribute `level`, and B's empty cell changes
            // nothing under merge.
            let renamed = Self.file(Self.rows).replacingOccurrences(of: ",tier\n", with: ",level\n")
            let relabelled = try env.importText(renamed, name: "renamed.csv")
            #expect((relabelled.record.updated, relabelled.record.unchanged, relabelled.rowsMatchedByDigest) == (2, 1, 0))

            // The same values with the columns in another order digest differently: compared in
            // full, unchanged, and nothing passed over.
            let swapped = "email,external_id,name,phone,created_at,tier\n" + Self.rows.map { row -> String in
                var cells = row.split(separator: ",", omittingEmptySubsequences: false)
                cells.swapAt(0, 1)
                return cells.joined(separator: ",")
            }.joined(separator: "\n") + "\n"
            let reordered = try env.importText(swapped, name: "reordered.csv")
            #expect((reordered.record.unchanged, reordered.rowsMatchedByDigest) == (3, 0))
        }
    }

    @Test func undoClearsTheDigestOfWhatItPutBack() throws {
        try withImportEnvironment { env in
            try env.importText(Self.file(Self.rows), name: "base.csv")
            let change = ["A,a@example.com,Ann,+7 900 123-45-67,2018-01-01 00:11:22,platinum"]
            let changed = try env.importText(Self.file(change), name: "change.csv")
            #expect(changed.record.updated == 1)
            _ = try ImportHistory(database: env.database).undo(changed.importID, force: false, now: "2030-01-01 00:00:00")
            // A holds the base values again; the undone file's row must change it again, not
            // match the digest that row once left.
            let redo = try env.importText(Self.file(change + ["B,b@example.com,Bob,,2018-01-01 00:11:22,"]), name: "redo.csv")
            #expect((redo.record.updated, redo.record.unchanged) == (1, 1), "\(redo.record)")
            #expect(try env.customers().first?[5] == #"{"tier":"platinum"}"#)
        }
    }

    @Test func anotherModeComparesAgainAndAnUnchangedRowLeavesItsDigest() throws {
        try withImportEnvironment { env in
            try env.importText(Self.file(["D,d@example.com,Dan,+79000000001,,gold"]), name: "p.csv")
            // Merge keeps the phone and tier an empty cell does not give: unchanged, compared in
            // full; its digest is kept, so the same row is passed over next time.
            let quiet = ["D,d@example.com,Dan,,,", "E,e@example.com,Eve,,,"]
            let q = try env.importText(Self.file(quiet), name: "q.csv")
            #expect((q.record.unchanged, q.record.created, q.rowsMatchedByDigest) == (1, 1, 0))
            let q2 = try env.importText(Self.file(quiet.reversed()), name: "q2.csv")
            #expect((q2.record.unchanged, q2.rowsMatchedByDigest) == (2, 2))
            // The same cells under replace clear the phone and the tier: an update, not a match.
            let replaced = try env.importText(Self.file(quiet + ["F,f@example.com,Fay,,,"]), name: "q3.csv", policy: Self.replace)
            #expect((replaced.record.updated, replaced.record.unchanged, replaced.record.created, replaced.rowsMatchedByDigest) == (1, 1, 1, 0))
            #expect(try env.customers().first == ["D", "d@example.com", "Dan", nil, nil, "{}"])
        }
    }

    @Test func aRowMatchingTheStoredDigestAfterTheFileChangedItsCustomerIsARepeat() throws {
        try withImportEnvironment { env in
            try env.importText(Self.file(Self.rows), name: "base.csv")
            // Row 2 changes A; row 3 is A's stored row, which matches the digest read before
            // this import began: a repeat of row 2, not "unchanged". Row 5 repeats row 4, which
            // was passed over.
            let text = Self.file(["A,a@example.com,Ann Changed,,,", Self.rows[0], Self.rows[1], Self.rows[1]])
            let outcome = try env.importText(text, name: "repeat.csv")
            #expect((outcome.record.updated, outcome.record.unchanged, outcome.record.rejected) == (1, 1, 2), "\(outcome.record)")
            let lines = try sheet(outcome.resultPath, "Rows")
            #expect(lines.contains(["3", "A", "rejected", "duplicate external_id, first seen at row 2"]), "\(lines)")
            #expect(lines.contains(["5", "B", "rejected", "duplicate external_id, first seen at row 4"]), "\(lines)")
            #expect(try env.customers().first?[2] == "Ann Changed")
        }
    }

    /// A row whose digest differs carries what its customer held as the import began, and the
    /// writer compares with that instead of looking the customer up; these rows are the ones
    /// where that snapshot is no longer the stored row, because this file wrote it already.
    @Test func whatWasReadAheadGivesWayToWhatTheFileWroteBefore() throws {
        try withImportEnvironment { env in
            try env.importText(Self.file(Self.rows), name: "base.csv")
            let text = Self.file([
                "A,a@example.com,Ann Changed,,,",        // 2: updated
                "A,a@example.com,Ann Twice,,,",          // 3: the file changed A on row 2: a repeat
                "X,x@example.com,Xia,,,",                // 4: created
                "X,x@example.com,Xia Again,,,",          // 5: not stored when the file began, created by row 4
                "B,,,,,",                                // 6: unchanged (merge keeps every value)
                "B,b@example.com,Bob Changed,,,",        // 7: B was met on row 6: a repeat
                "C,c@example.com,Cid,,,",                // 8: another row that gives the same values: unchanged
            ])
            let outcome = try env.importText(text, name: "mixed.csv")
            #expect((outcome.record.updated, outcome.record.created, outcome.record.unchanged, outcome.record.rejected) == (1, 1, 2, 3),
                    "\(outcome.record)")
            #expect(outcome.rowsMatchedByDigest == 0)
            let lines = try sheet(outcome.resultPath, "Rows")
            for (row, id, first) in [(3, "A", 2), (5, "X", 4), (7, "B", 6)] {
                #expect(lines.contains(["\(row)", id, "rejected", "duplicate external_id, first seen at row \(first)"]), "\(lines)")
            }
            #expect(try env.customers().map { $0[2] } == ["Ann Changed", "Bob", "Cid", "Xia"])

            // Update-only: a customer that was not stored is not found, whatever was read ahead.
            var updateOnly = ImportPolicy()
            updateOnly.mode = .updateOnly
            let only = try env.importText(Self.file(["Y,y@example.com,Yan,,,", "A,a@example.com,Ann,,,"]), name: "only.csv", policy: updateOnly)
            #expect((only.record.updated, only.record.created, only.record.rejected) == (1, 0, 1), "\(only.record)")
            #expect(try sheet(only.resultPath, "Rows").contains(["2", "Y", "rejected", "not found (update-only): no customer with external_id Y"]))
            #expect(try env.customers().map { $0[0] } == ["A", "B", "C", "X"])
        }
    }

    /// The repeat checks meet an id's hash from both paths: a row passed over by its digest
    /// records its id with the hash the validating thread computed, and a later changed row of
    /// the same id looks it up with its own. Enough rows pass over first that the record of
    /// unwritten ids grows its table several times and places every entry again.
    @Test func aRepeatIsFoundWhicheverPathItsRowsTook() throws {
        try withImportEnvironment { env in
            let ids = (0..<5000).map { "K\($0)" }
            let base = ids.map { "\($0),\($0.lowercased())@example.com,Name \($0),,,gold" }
            try env.importText(Self.file(base), name: "base.csv")
            let again = base + [
                base[1],                                  // 5002: passed over, a repeat of row 3
                "K2,k2@example.com,Name Changed,,,gold", // 5003: changed, a repeat of row 4
                "K3,k3@example.com,Name K3,,,silver",    // 5004: changed, a repeat of row 5
            ]
            let outcome = try env.importText(Self.file(again), name: "again.csv")
            #expect((outcome.record.unchanged, outcome.record.rejected, outcome.record.updated) == (5000, 3, 0), "\(outcome.record)")
            #expect(outcome.rowsMatchedByDigest == 5001)
            let lines = try sheet(outcome.resultPath, "Rows")
            for (row, id, first) in [(5002, "K1", 3), (5003, "K2", 4), (5004, "K3", 5)] {
                #expect(lines.contains(["\(row)", id, "rejected", "duplicate external_id, first seen at row \(first)"]), "\(lines.suffix(3))")
            }
            #expect(try env.customers().filter { ["K2", "K3"].contains($0[0]) }.map { $0[2] } == ["Name K2", "Name K3"])
        }
    }

    /// A file in no particular order makes the lookups search until the partner's digests are
    /// read into memory (``StoredDigests/idsBehindBeforeTable``); the rows after are answered
    /// from there. The verdicts and the stored customers are those of the same rows in the
    /// table's order (ids of one width), where the cursor walks and the table is never read.
    /// Customers stored without a digest are compared either way, never passed over.
    @Test func aFileInNoOrderGetsTheVerdictsOfTheSameRowsSorted() throws {
        let count = 2 * StoredDigests.idsBehindBeforeTable + 12_000
        let ids = (0..<count).map { fiveDigitID("K", $0) }
        let base = ids.map { "\($0),\($0.lowercased())@example.com,Name \($0),,,gold" }
        // Every tenth row changed, a new customer after every twentieth, and repeats of an
        // unchanged, a changed and a new row at the end.
        var rows: [String] = []
        for (i, id) in ids.enumerated() {
            rows.append(i % 10 == 3 ? "\(id),\(id.lowercased())@example.com,Renamed \(id),,,gold" : base[i])
            if i % 20 == 7 { rows.append("\(fiveDigitID("N", i)),n\(i)@example.com,New \(i),,,silver") }
        }
        var generator = SplitMix64(seed: 11)
        var shuffled = rows
        shuffled.shuffle(using: &generator)
        let repeats = [base[5], rows[rows.firstIndex { $0.hasPrefix("K00013,") }!], "\(fiveDigitID("N", 7)),n7@example.com,New 7,,,silver"]

        func importBoth(_ file: [String]) throws -> (ImportRecord, Int, [[String?]], inMemory: Bool) {
            try withImportEnvironment { env in
                try env.importText(Self.file(base), name: "base.csv")
                // K00100 to K00199 as if an operator had changed them (see the first test).
                try env.database.execute("UPDATE customers SET row_digest = NULL WHERE external_id LIKE 'K001%'")
                let outcome = try env.importText(Self.file(file + repeats), name: "again.csv")
                return (outcome.record, outcome.rowsMatchedByDigest, try env.customers(), outcome.digestsReadIntoMemory)
            }
        }
        let (inOrder, passedInOrder, storedInOrder, sortedInMemory) = try importBoth(rows)
        let (noOrder, passedNoOrder, storedNoOrder, shuffledInMemory) = try importBoth(shuffled)
        #expect(!sortedInMemory && shuffledInMemory)
        let changed = (0..<count).filter { $0 % 10 == 3 }.count
        let expected = (created: (0..<count).filter { $0 % 20 == 7 }.count, updated: changed, unchanged: count - changed, rejected: 3)
        #expect((inOrder.created, inOrder.updated, inOrder.unchanged, inOrder.rejected) == expected)
        #expect((noOrder.created, noOrder.updated, noOrder.unchanged, noOrder.rejected) == expected)
        // Passed over: the unchanged rows but those without a stored digest, and the repeat of
        // one of them (rejected by the writer).
        let withoutDigest = (100..<200).filter { $0 % 10 != 3 }.count
        #expect(passedInOrder == expected.unchanged - withoutDigest + 1 && passedNoOrder == passedInOrder, "\(passedInOrder) \(passedNoOrder)")
        #expect(storedInOrder == storedNoOrder)
    }
}
