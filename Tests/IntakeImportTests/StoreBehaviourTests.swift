import Foundation
import IntakeImport
import IntakeStore
import IntakeStorePostgres
import IntakeTestSupport
import Logging
import Testing

/// The importer's behaviour, the same on SQLite and on PostgreSQL: one suite, each test run on
/// both stores, and the modes compared store against store row by row.
@Suite struct StoreBehaviourTests {
    static let header = "external_id,email,name,phone,created_at,city,tier\n"

    @Test(arguments: StoreKind.allCases) func goodBadAndRepeatedRows(_ kind: StoreKind) throws {
        try withStore(kind) { store in
            let csv = Self.header + """
            C-1,Anna@Example.RU,Анна Петрова,+7 (900) 123-45-67,2018-01-01 00:11:22,Москва,gold
            C-2,not-an-email,Bob,,,Boston,
            C-1,dup@example.com,Again,,,,
            C-5,e@example.com,"Smith, Eve",,2019-06-30T14:05:00+02:00,"=HYPERLINK(""http://x"")",
            C-7,,"tab\there",,,,silver

            """
            let outcome = try store.importText(csv)
            #expect((outcome.record.rowsRead, outcome.record.created, outcome.record.rejected) == (5, 3, 2))
            #expect(try store.customers() == [
                ["C-1", "Anna@example.ru", "Анна Петрова", "+79001234567", "2018-01-01 00:11:22", #"{"city":"Москва","tier":"gold"}"#],
                ["C-5", "e@example.com", "Smith, Eve", nil, "2019-06-30 12:05:00", #"{"city":"=HYPERLINK(\"http://x\")"}"#],
                ["C-7", nil, "tab\there", nil, nil, #"{"tier":"silver"}"#],
            ])
            #expect(try sheet(outcome.resultPath, "Rows") == [
                ["row", "external_id", "status", "message"],
                ["2", "C-1", "created", ""],
                ["3", "C-2", "rejected", #"email "not-an-email" is not an email address: it has no @"#],
                ["4", "C-1", "rejected", "duplicate external_id, first seen at row 2"],
                ["5", "C-5", "created", ""],
                ["6", "C-7", "created", ""],
            ])
            let rejected = try sheet(outcome.resultPath, "Rejected")
            #expect(rejected.count == 3)
            #expect(rejected[2] == ["C-1", "dup@example.com", "Again", "", "", "", "", "duplicate external_id, first seen at row 2"])

            // Sent again: every row unchanged, nothing written, the repeat still caught.
            let again = try store.importText(csv, name: "again.csv")
            #expect((again.record.created, again.record.updated, again.record.unchanged, again.record.rejected) == (0, 0, 3, 2))
            #expect(try store.count("customer_changes") == 0)
        }
    }

    @Test(arguments: StoreKind.allCases) func mergeKeepsEmptyCellsAndAttributeOrder(_ kind: StoreKind) throws {
        try withStore(kind) { store in
            try store.importText(Self.header + "A,a@x.io,Ann,,,Oslo,gold\nB,b@x.io,Bo,,,Rome,\n")
            // Empty cells keep the stored values; a given attribute changes in place, a new one follows.
            let outcome = try store.importText("external_id,email,name,phone,created_at,tier,vip\nA,,Anna,,,silver,yes\nB,,,,,,\n", name: "second.csv")
            #expect((outcome.record.updated, outcome.record.unchanged) == (1, 1))
            #expect(try store.customers() == [
                ["A", "a@x.io", "Anna", nil, nil, #"{"city":"Oslo","tier":"silver","vip":"yes"}"#],
                ["B", "b@x.io", "Bo", nil, nil, #"{"city":"Rome"}"#],
            ])
            #expect(try store.count("customer_changes") == 1)
        }
    }

    @Test(arguments: StoreKind.allCases) func checkOnlyChangesNothing(_ kind: StoreKind) throws {
        try withStore(kind) { store in
            try store.importText(Self.header + "A,a@x.io,Ann,,,,\n")
            let check = try store.importText(Self.header + "A,new@x.io,Ann,,,,\nB,b@x.io,Bo,,,,\n", name: "check.csv", dryRun: true)
            #expect(check.record.status == .checked)
            #expect((check.record.created, check.record.updated) == (1, 1))
            #expect(try store.customers().map { $0[1] } == ["a@x.io"])
            #expect(try store.count("imports") == 2, "the check keeps its history row")
        }
    }

    /// An update's change record keeps the values it replaced and nothing else (a value that was
    /// empty as a JSON null, `custom_attributes` whole when any of it changed); history rebuilds
    /// every entry's values from them and the row, and undo puts each column back.
    @Test(arguments: StoreKind.allCases) func aChangeRecordKeepsWhatItReplaced(_ kind: StoreKind) throws {
        try withStore(kind) { store in
            let base = try store.importText(Self.header + "A,a@x.io,Ann,,,Oslo,gold\nB,b@x.io,Bo,,,Rome,\n", name: "base.csv")
            let afterBase = try store.dump()
            let second = try store.importText(Self.header + "A,,Anna,+7 900 123-45-67,,,\nB,,,,,,silver\n", name: "second.csv")
            #expect(second.record.updated == 2)
            let records = try store.rows("SELECT external_id, CAST(before AS text), after IS NULL FROM customer_changes ORDER BY id")
            #expect(records.count == 2)
            let a = #"{"name":"Ann","phone":null,"updated_by_import":\#(base.importID),"updated_at":""#
            let b = #"{"custom_attributes":{"city":"Rome"},"updated_by_import":\#(base.importID),"updated_at":""#
            #expect(records.first?[0] == "A" && records.first?[1]?.hasPrefix(a) == true, "\(records)")
            #expect(records.last?[0] == "B" && records.last?[1]?.hasPrefix(b) == true, "\(records)")
            #expect(records.allSatisfy { $0[2] == "1" || $0[2] == "t" }, "no values after are kept")

            let third = try store.importText(Self.header + "A,ann@x.io,,,,Bergen,\n", name: "third.csv")
            #expect(third.record.updated == 1)
            let history = try store.history.history(partner: "acme", externalID: "A")
            #expect(history.map(\.fileName) == ["base.csv", "second.csv", "third.csv"])
            #expect(history.map(\.values) == [
                #"{"email":"a@x.io","name":"Ann","phone":null,"created_at":null,"custom_attributes":{"city":"Oslo","tier":"gold"}}"#,
                #"{"email":"a@x.io","name":"Anna","phone":"+79001234567","created_at":null,"custom_attributes":{"city":"Oslo","tier":"gold"}}"#,
                #"{"email":"ann@x.io","name":"Anna","phone":"+79001234567","created_at":null,"custom_attributes":{"city":"Bergen","tier":"gold"}}"#,
            ])

            _ = try store.history.undo(third.importID, force: false, now: "2030-01-01 00:00:00")
            _ = try store.history.undo(second.importID, force: false, now: "2030-01-01 00:00:01")
            #expect(try store.dump() == afterBase, "every column as after the base import")
            let undone = try store.history.history(partner: "acme", externalID: "A")
            #expect(undone.map(\.action.rawValue) == ["created", "updated", "updated", "undone", "undone"])
            #expect(undone.map(\.values) == history.map(\.values) + [history[1].values, history[0].values])
        }
    }

    /// An `UPDATE` from outside Intake leaves no record: an undo puts back only the fields its
    /// import changed and keeps the outside edit of another, and history, rebuilt from the row
    /// back, shows the edited value in the entries after the last change of that field (as the
    /// README says).
    @Test(arguments: StoreKind.allCases) func anUndoKeepsAnOutsideEditOfOtherFields(_ kind: StoreKind) throws {
        try withStore(kind) { store in
            try store.importText(Self.header + "A,a@x.io,Ann,,,Oslo,\n", name: "base.csv")
            let second = try store.importText(Self.header + "A,,Anna,,,,\n", name: "second.csv")
            #expect(second.record.updated == 1)
            _ = try store.rows("UPDATE customers SET email = 'z@x.io' WHERE external_id = 'A'")
            _ = try store.history.undo(second.importID, force: false, now: "2030-01-01 00:00:00")
            #expect(try store.customers() == [["A", "z@x.io", "Ann", nil, nil, #"{"city":"Oslo"}"#]])
            let history = try store.history.history(partner: "acme", externalID: "A")
            #expect(history.map(\.action.rawValue) == ["created", "updated", "undone"])
            #expect(history.map(\.values) == [
                #"{"email":"z@x.io","name":"Ann","phone":null,"created_at":null,"custom_attributes":{"city":"Oslo"}}"#,
                #"{"email":"z@x.io","name":"Anna","phone":null,"created_at":null,"custom_attributes":{"city":"Oslo"}}"#,
                #"{"email":"z@x.io","name":"Ann","phone":null,"created_at":null,"custom_attributes":{"city":"Oslo"}}"#,
            ])
        }
    }

    /// The same content sent again is a duplicate and changes nothing, unless the import it
    /// repeats was undone: that import no longer stands, so the file is imported again.
    @Test(arguments: StoreKind.allCases) func theSameFileAfterItsUndoIsImportedAgain(_ kind: StoreKind) throws {
        try withStore(kind) { store in
            func send() throws -> ImportOutcome {
                let path = store.scratch + "/list.csv"
                try writeFile(path, Self.header + "A,a@x.io,Ann,,,Oslo,\n")
                try store.root.prepare(partner: "acme")
                var request = ImportRequest(path: path, partner: "acme", outbox: store.root.outbox("acme"))
                request.rejectDuplicateContent = true
                return try store.importer.run(request)
            }
            let first = try send()
            #expect(first.record.created == 1)
            #expect(try send().record.status == .duplicate)
            _ = try store.history.undo(first.importID, force: false, now: "2030-01-01 00:00:00")
            #expect(try store.customers().isEmpty)
            let again = try send()
            #expect(again.record.status == .completed && again.record.created == 1)
            #expect(try store.customers() == [["A", "a@x.io", "Ann", nil, nil, #"{"city":"Oslo"}"#]])
        }
    }

    /// The portal's customer page reads the customer and its history on one snapshot, so they
    /// agree while a file changes that customer between the two reads.
    @Test(arguments: StoreKind.allCases) func aCustomerAndItsHistoryAreReadOnOneSnapshot(_ kind: StoreKind) throws {
        try withStore(kind) { store in
            try store.importText(Self.header + "A,a@x.io,Ann,,,,\n", name: "base.csv")
            let reads = try store.reader()
            let (first, second, history) = try reads.snapshot { () throws -> (String?, String?, [String]) in
                let first = try reads.customer(partner: "acme", externalID: "A")?.name
                // Committed on the importer's own connection between the two reads.
                #expect(try store.importText(Self.header + "A,a@x.io,Anna,,,,\n", name: "second.csv").record.updated == 1)
                return (first, try reads.customer(partner: "acme", externalID: "A")?.name,
                        try reads.history(partner: "acme", externalID: "A").map(\.action.rawValue))
            }
            #expect((first, second, history) == ("Ann", "Ann", ["created"]))
            #expect(try reads.customer(partner: "acme", externalID: "A")?.name == "Anna")
            #expect(try reads.history(partner: "acme", externalID: "A").map(\.action.rawValue) == ["created", "updated"])
        }
    }

    /// A name that changed only in its Unicode form (é precomposed, then decomposed) is a change
    /// on both stores, as the bytes stored differ, and undo gives the first form back.
    @Test(arguments: StoreKind.allCases) func aValueThatChangedOnlyItsUnicodeFormIsAChange(_ kind: StoreKind) throws {
        try withStore(kind) { store in
            let composed = "Ren\u{E9}e", decomposed = "Rene\u{301}e"
            #expect(composed == decomposed, "equal to Swift's ==, which is why the writer compares bytes")
            try store.importText(Self.header + "A,a@x.io,\(composed),,,,\n", name: "first.csv")
            let second = try store.importText(Self.header + "A,a@x.io,\(decomposed),,,,\n", name: "second.csv")
            #expect((second.record.updated, second.record.unchanged) == (1, 0))
            #expect(try store.customers().first?[2].map { Array($0.utf8) } == Array(decomposed.utf8))
            let record = try store.rows("SELECT CAST(before AS text) FROM customer_changes").first?[0]
            #expect(record.map { Array($0.utf8).starts(with: Array("{\"name\":\"\(composed)\",\"updated_by_import\":".utf8)) } == true, "\(record ?? "none")")
            _ = try store.history.undo(second.importID, force: false, now: "2030-01-01 00:00:00")
            #expect(try store.customers().first?[2].map { Array($0.utf8) } == Array(composed.utf8))
        }
    }

    @Test(arguments: StoreKind.allCases) func partnersAreApart(_ kind: StoreKind) throws {
        try withStore(kind) { store in
            try store.importText(Self.header + "A,a@acme.io,Acme's A,,,,\n", partner: "acme")
            let other = try store.importText(Self.header + "A,a@globex.io,Globex's A,,,,\n", partner: "globex")
            #expect(other.record.created == 1, "the same external_id is another customer for another partner")
            #expect(try store.customers("acme").map { $0[2] } == ["Acme's A"])
            #expect(try store.customers("globex").map { $0[2] } == ["Globex's A"])
        }
    }

    /// "Unchanged" is exact: a value that differs only in type (a stored number against a given
    /// string) or in case is a change; in replace an empty cell that clears a value is one too.
    @Test(arguments: StoreKind.allCases) func unchangedIsExact(_ kind: StoreKind) throws {
        try withStore(kind) { store in
            try store.importText(Self.header + "A,a@x.io,Ann,,,Oslo,gold\n")
            let same = try store.importText("external_id,email,name,phone,created_at,tier,city\nA,,,,,gold,Oslo\n", name: "same.csv")
            #expect(same.record.unchanged == 1, "a subset in another order changes nothing under merge")
            let cased = try store.importText("external_id,email,name,phone,created_at,tier\nA,,,,,Gold\n", name: "cased.csv")
            #expect(cased.record.updated == 1)
            let replaced = try store.importText("external_id,email,name,phone,created_at,tier,city\nA,a@x.io,Ann,,,Gold,Oslo\n",
                                                name: "replace.csv", mode: .replace)
            #expect(replaced.record.updated == 1, "replace with the attributes in another order is a change of their text")
            let replacedAgain = try store.importText("external_id,email,name,phone,created_at,tier,city\nA,a@x.io,Ann,,,Gold,Oslo\n",
                                                     name: "replace-again.csv", mode: .replace)
            #expect(replacedAgain.record.unchanged == 1)
            let cleared = try store.importText("external_id,email,name,phone,created_at\nA,a@x.io,,,\n", name: "clear.csv", mode: .replace)
            #expect(cleared.record.updated == 1)
            #expect(try store.customers() == [["A", "a@x.io", nil, nil, nil, "{}"]])
        }
    }

    /// Two files of updates over a base (merge: empty cells kept, new attribute keys, a repeat),
    /// undone newest first: every column of every customer as after the base, and the history
    /// of one customer in order.
    @Test(arguments: StoreKind.allCases) func undoRestoresEveryColumn(_ kind: StoreKind) throws {
        try withStore(kind) { store in
            let count = 301
            try store.importText(LargeUpdateUndoTests.file(count, variant: 0), name: "base.csv")
            let afterBase = try store.dump()
            var edited = LargeUpdateUndoTests.file(count, variant: 1)
            edited += "C-7,again@example.com,Again,,,,\n"
            let second = try store.importText(edited, name: "edited.csv")
            #expect((second.record.updated, second.record.rejected) == (count, 1))
            #expect(try store.customers().first { $0[0] == "C-5" }?[5] == #"{"tier":"gold","note":"changed 1, \"quoted\""}"#)
            let third = try store.importText(LargeUpdateUndoTests.file(count, variant: 2), name: "again.csv")
            #expect(third.record.updated == count)

            let early = try #require(throws: ImportHistory.Refusal.self) { try store.history.undo(second.importID, force: false, now: "2030-01-01 00:00:00") }
            #expect(early.message.hasPrefix("later imports or API writes changed \(count) of the customers import \(second.importID) touched"))
            _ = try store.history.undo(third.importID, force: false, now: "2030-01-01 00:00:00")
            let report = try store.history.undo(second.importID, force: false, now: "2030-01-01 00:00:01")
            #expect(report.restored.count == count && report.removed.isEmpty)
            #expect(try store.dump() == afterBase, "the state after the base import, every column")
            let entries = try store.history.history(partner: "acme", externalID: "C-5")
            #expect(entries.map(\.action.rawValue) == ["created", "updated", "updated", "undone", "undone"])
            #expect(entries.map(\.fileName) == ["base.csv", "edited.csv", "again.csv", "again.csv", "edited.csv"])
            #expect(entries[1].values == #"{"email":"c5@example.com","name":"Name 5 v1","phone":"+79001000005","created_at":"2018-01-01 00:11:22","custom_attributes":{"tier":"gold","note":"changed 1, \"quoted\""}}"#)

            // Undoing the base then removes what it created.
            let removed = try store.history.undo(1, force: false, now: "2030-01-01 00:00:02")
            #expect(removed.removed.count == count)
            #expect(try store.customers().isEmpty)
        }
    }

    /// A file that breaks part-way (a quote that never closes, after thousands of rows already
    /// sent to the store) is rejected whole, and the store takes the next file as usual.
    @Test(arguments: StoreKind.allCases) func aFileThatBreaksPartWayIsRejectedWhole(_ kind: StoreKind) throws {
        try withStore(kind) { store in
            var broken = Self.header
            for i in 0..<20_000 { broken += "B-\(i),b\(i)@x.io,Name \(i),,,,\n" }
            broken += "B-x,\"never closed,,,,,\n"
            let outcome = try store.importText(broken, name: "broken.csv")
            #expect(outcome.fileError?.contains("broken.csv") == true, "\(outcome.fileError ?? "no error")")
            #expect(try store.count("customers") == 0)
            let next = try store.importText(Self.header + "A,a@x.io,Ann,,,,\n", name: "next.csv")
            #expect(next.record.created == 1)
            #expect(try store.count("customers") == 1)
        }
    }

    /// A NUL byte in a row rejects that row on either store (PostgreSQL's text cannot hold it;
    /// the Rejected sheet shows it as U+FFFD there), and the other rows go in.
    @Test(arguments: StoreKind.allCases) func aNulByteRejectsItsRowOnly(_ kind: StoreKind) throws {
        try withStore(kind) { store in
            let outcome = try store.importText(Self.header + "A,a@x.io,Ann,,,,\nN\u{0}1,n@x.io,Nul,,,,\nB,b@x.io,Bo,,,,\n")
            #expect(outcome.fileError == nil)
            #expect((outcome.record.created, outcome.record.rejected) == (2, 1))
            let rejected = try sheet(outcome.resultPath, "Rejected")
            #expect(rejected.count == 2)
            #expect(Array(rejected[1].dropFirst().prefix(2)) == ["n@x.io", "Nul"], "the row's cells stay in their columns")
        }
    }

    /// An id written with spaces around it is stored trimmed and listed in the result as the file
    /// wrote it, on both stores.
    @Test func theResultShowsTheIdAsWritten() throws {
        var listed: [[String]] = []
        for kind in StoreKind.allCases {
            try withStore(kind) { store in
                let outcome = try store.importText(Self.header + "  A  ,a@x.io,Ann,,,,\n")
                #expect(try store.customers().map { $0[0] } == ["A"])
                listed.append(try sheet(outcome.resultPath, "Rows")[1])
            }
        }
        #expect(listed.count == 2 && listed[0] == listed[1])
        #expect(listed.first?[1] == "  A  ")
    }

    /// On PostgreSQL most of a file's work comes after its last row (plan, writes, readback); a
    /// shutdown asked for then still stops the import, and none of the file is kept.
    @Test func aStopDuringTheSetBasedStepsRollsTheFileBack() throws {
        try withStore(.postgres) { store in
            let path = store.scratch + "/small.csv"
            try writeFile(path, Self.header + "A,a@x.io,Ann,,,,\nB,b@x.io,Bo,,,,\n")
            try store.root.prepare(partner: "acme")
            let request = ImportRequest(path: path, partner: "acme", outbox: store.root.outbox("acme"))
            // Two rows never reach the read loop's check (every 4,096 rows): only the store's
            // checkpoints can see the stop.
            let error = try #require(throws: ImportFailure.self) {
                try store.importer.run(request, hooks: ImportHooks(shouldStop: { .shutdown }))
            }
            guard case .stopped(.shutdown) = error else { Issue.record("stopped for another reason: \(error)"); return }
            #expect(try store.count("customers") == 0)
            #expect(try store.count("imports") == 0)
        }
    }

    /// Each mode, on a file that creates, changes, repeats and leaves alone: both stores give the
    /// same Rows sheet, the same counts and the same customers.
    @Test(arguments: ImportMode.allCases) func storesAgree(_ mode: ImportMode) throws {
        let first = Self.header + "A,a@x.io,Ann,,2018-01-01 00:11:22,Oslo,gold\nB,b@x.io,Bo,+1 555 0100,,Rome,\nC,c@x.io,Cy,,,,\n"
        let second = "external_id,name,email,phone,created_at,tier,vip\nA,Anna,,,,silver,\nB,Bo,b@x.io,,,,\nD,Di,d@x.io,,,,yes\nA,Again,,,,,\nE,,bad-email,,,,\nC,,,,,,\n"
        var seen: [StoreKind: ([[String]], [Int], [[String?]])] = [:]
        for kind in StoreKind.allCases {
            try withStore(kind) { store in
                try store.importText(first)
                let outcome = try store.importText(second, name: "second.csv", mode: mode, listUnchanged: true)
                let r = outcome.record
                seen[kind] = (try sheet(outcome.resultPath, "Rows") + (try sheet(outcome.resultPath, "Rejected")),
                              [r.rowsRead, r.created, r.updated, r.unchanged, r.skipped, r.rejected], try store.customers())
            }
        }
        let sqlite = try #require(seen[.sqlite]), postgres = try #require(seen[.postgres])
        #expect(postgres.0 == sqlite.0, "Rows and Rejected sheets")
        #expect(postgres.1 == sqlite.1, "counts")
        #expect(postgres.2 == sqlite.2, "customers")
        #expect(sqlite.1[0] == 6)
    }
}
