@testable import IntakeImport
import IntakeRead
import IntakeStore
import IntakeTestSupport
import IntakeValidate
import Testing

/// The stored rows the validating thread reads ahead for changed rows ride in the pipeline's
/// batches; they must stay within their bound whatever the customers hold, and the rows past
/// it are looked up by the writer with the same verdicts.
@Suite struct ReadAheadTests {
    static let attributes = (0..<10).map { "a\($0)" }
    static let header = "external_id,email,name,phone,created_at," + attributes.joined(separator: ",") + "\n"

    /// Six customers of about 300 KB each (ten attributes near the 32,767-character cell limit).
    static func file(name: String) -> String {
        header + (1...6).map { i in
            "C\(i),c\(i)@example.com,\(name) \(i),,," + attributes.map { _ in String(repeating: "x", count: 30_000) }.joined(separator: ",")
        }.joined(separator: "\n") + "\n"
    }

    @Test func storedRowsReadAheadStayWithinTheirBoundAndTheRestAreLookedUp() throws {
        try withImportEnvironment { env in
            try env.importText(Self.file(name: "Old"), name: "base.csv")
            let edited = Self.file(name: "New")
            let path = env.scratch + "/edited.csv"
            try writeFile(path, edited)

            // The pipeline as the importer runs it, inside a write transaction.
            let readAhead = try env.database.transaction { () throws -> [Bool] in
                let table = try Spreadsheet.open(path)
                let columns = try ColumnMap(header: table.header.cells)
                let stored = try #require(try SQLiteImportStore(database: env.database).storedDigests(partner: "acme"))
                let matching = RowMatching(digester: RowDigester(key: stored.key, columns: columns, policy: ImportPolicy()), stored: stored, mode: .merge)
                let pipeline = RowPipeline(table: table, validator: RowValidator(columns: columns), columns: columns, matching: matching)
                defer { pipeline.cancel() }
                var found: [Bool] = []
                while let prepared = try pipeline.next() {
                    guard case .valid(let update) = prepared.outcome else { Issue.record("row \(prepared.row.number) not valid"); continue }
                    // The names differ, the attributes do not: how each row compares is small
                    // beside its stored row, so the comparison rides along wherever the row does.
                    if case .compared(_, .changes(nil, _))? = update.readAhead { found.append(true) } else { found.append(false) }
                }
                return found
            }
            // The reader closes a batch past 1 MiB of text: rows 1–4, then 5–6. Three stored rows
            // of about 300 KB fit in a batch's 1 MiB of read-ahead; the fourth does not.
            #expect(readAhead == [true, true, true, false, true, true])

            let outcome = try env.importText(edited, name: "edited.csv")
            #expect((outcome.record.updated, outcome.record.rejected) == (6, 0), "\(outcome.record)")
            #expect(try env.customers().map { $0[2] } == (1...6).map { "New \($0)" })
        }
    }
}
