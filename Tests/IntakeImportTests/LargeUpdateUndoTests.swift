import Foundation
import IntakeImport
import IntakeStore
import IntakeTestSupport
import Testing

/// A file that updates hundreds of customers (merge: some cells empty, some attributes new), a
/// repeat of an id it already updated, then a second file over it: what is stored, what history
/// records and what undo puts back, row by row and every column.
@Suite struct LargeUpdateUndoTests {
    /// `count` customers; `variant` changes some fields of every row but keeps ids and order.
    static func file(_ count: Int, variant: Int) -> String {
        var text = "external_id,email,name,phone,created_at,tier,note\n"
        for i in 0..<count {
            let name = variant == 0 ? "Name \(i)" : "Name \(i) v\(variant)"
            let phone = i % 3 == 0 ? "" : "+7900\(1_000_000 + i)"
            // Every fourth row leaves the attribute empty (merge keeps the stored one), every
            // fifth adds a key only this variant has.
            let tier = variant > 0 && i % 4 == 0 ? "" : ["gold", "silver", "bronze"][(i + variant) % 3]
            let note = variant > 0 && i % 5 == 0 ? "changed \(variant), \"quoted\"" : ""
            text += "C-\(i),c\(i)@example.com,\(name),\(phone),2018-01-01 00:11:22,\(tier),\"\(note.replacingOccurrences(of: "\"", with: "\"\""))\"\n"
        }
        return text
    }

    @Test func undoAfterLargeUpdatesRestoresEveryRowExactly() throws {
        let count = 301
        try withImportEnvironment { env in
            let first = try env.importText(Self.file(count, variant: 0), name: "base.csv")
            #expect(first.record.created == count)
            let afterFirst = try env.dumpCustomers(includingDigest: false)
            let changesBefore = try env.database.scalar("SELECT count(*) FROM customer_changes")

            // The same id again, after it was updated by this file, is a repeat.
            var edited = Self.file(count, variant: 1)
            edited += "C-7,again@example.com,Again,,,,\n"
            let second = try env.importText(edited, name: "edited.csv")
            #expect((second.record.updated, second.record.rejected) == (count, 1))
            #expect(try sheet(second.resultPath, "Rows").last == [String(count + 2), "C-7", "rejected", "duplicate external_id, first seen at row 9"])
            #expect(try env.database.scalar("SELECT count(*) FROM customer_changes WHERE import_id = ?1", [.integer(second.importID)]) == Int64(count))
            #expect(try env.database.scalar("SELECT count(*) FROM customers WHERE updated_by_import = ?1", [.integer(second.importID)]) == Int64(count))
            // Values as merge gives them: an empty cell keeps the stored attribute, a new key is added.
            let c4 = try #require(try CustomerStore(database: env.database, partner: "acme").find("C-4"))
            #expect(c4.name == "Name 4 v1" && c4.customAttributes == #"{"tier":"silver"}"#, "the empty tier kept what base.csv stored")
            let c5 = try #require(try CustomerStore(database: env.database, partner: "acme").find("C-5"))
            #expect(c5.customAttributes == #"{"tier":"gold","note":"changed 1, \"quoted\""}"#)
            let c299 = try #require(try CustomerStore(database: env.database, partner: "acme").find("C-\(count - 1)"))
            #expect(c299.name == "Name \(count - 1) v1", "the last row too")

            // A third import over the second, then both undone newest first: every row as before.
            let third = try env.importText(Self.file(count, variant: 2), name: "again.csv")
            #expect(third.record.updated == count)
            let history = ImportHistory(database: env.database)
            _ = try history.undo(third.importID, force: false, now: "2030-01-01 00:00:00")
            let report = try history.undo(second.importID, force: false, now: "2030-01-01 00:00:01")
            #expect(report.restored.count == count && report.removed.isEmpty)
            #expect(try env.dumpCustomers(includingDigest: false) == afterFirst, "the state after the first import, every column")
            #expect(try env.database.scalar("SELECT count(*) FROM customer_changes WHERE action = 'updated'") == Int64(2 * count) + (changesBefore ?? 0))

            let entries = try history.history(partner: "acme", externalID: "C-5")
            #expect(entries.map(\.action.rawValue) == ["created", "updated", "updated", "undone", "undone"])
        }
    }
}
