import IntakeRead
import IntakeReport
import IntakeTestSupport
import Testing

/// The result workbook written with libxlsxwriter and read back with Intake's own XLSX reader:
/// every sheet's cells, not just that a file exists.
@Suite struct ResultWorkbookTests {
    func sheet(_ path: String, _ name: String) throws -> [[String]] {
        var options = ReadOptions()
        options.sheet = name
        return try readAllRecords(XLSXReader(path: path, options: options)).map(\.cells)
    }

    @Test func summaryRowsAndRejectedSheets() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/result.xlsx"
            let workbook = try ResultWorkbook(path: path, sourceHeader: ["external_id", "email"], rowsPerSheet: 2)
            try workbook.addRow(number: 2, externalID: "A", status: .created, message: "")
            try workbook.addRow(number: 3, externalID: "B", status: .unchanged, message: "")
            try workbook.addRow(number: 4, externalID: "C\0D", status: .rejected, message: "email: not an address")
            try workbook.addRejected(cells: ["C\0D", "nope"], error: "row 4, column email: not an address")
            var summary = ImportSummary(sourceFile: "list.csv", partner: "acme", receivedAt: "2018-01-01 00:11:22", finishedAt: "2018-01-01 00:11:23")
            summary.importID = 7
            summary.delimiter = "\t"
            summary.rowsRead = 3
            summary.counts = [.created: 1, .unchanged: 1, .rejected: 1]
            try workbook.finish(summary)

            let facts = Dictionary(try sheet(path, "Summary").map { ($0[0], $0.count > 1 ? $0[1] : "") }, uniquingKeysWith: { a, _ in a })
            #expect(facts["Result"] == "1 created, 1 unchanged, 1 rejected: fix the rows on the Rejected sheet and send this workbook back")
            #expect(facts["Source file"] == "list.csv" && facts["Import"] == "7" && facts["Delimiter"] == "tab")
            #expect(facts["Rows read"] == "3" && facts["Created"] == "1" && facts["Unchanged"] == "1" && facts["Rejected"] == "1")
            #expect(facts["Skipped"] == nil, "a count that is zero and optional is left out")

            // Two data rows per sheet here: the third line goes to "Rows (2)"; a NUL is made visible.
            #expect(try sheet(path, "Rows") == [["row", "external_id", "status", "message"], ["2", "A", "created"], ["3", "B", "unchanged"]])
            #expect(try sheet(path, "Rows (2)") == [["row", "external_id", "status", "message"], ["4", "C\u{FFFD}D", "rejected", "email: not an address"]])
            #expect(try sheet(path, "Rejected") == [["external_id", "email", "error"], ["C\u{FFFD}D", "nope", "row 4, column email: not an address"]])
        }
    }

    @Test func aRejectedFileSaysWhyOnItsSummary() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/rejected.xlsx"
            let workbook = try ResultWorkbook(path: path, sourceHeader: [])
            var summary = ImportSummary(sourceFile: "x.csv", partner: "acme", receivedAt: "2018-01-01 00:00:00", finishedAt: "2018-01-01 00:00:01")
            summary.fileError = "x.csv: the required column email is missing"
            summary.note = "check only: nothing was changed"
            try workbook.finish(summary)
            let facts = Dictionary(try sheet(path, "Summary").map { ($0[0], $0.count > 1 ? $0[1] : "") }, uniquingKeysWith: { a, _ in a })
            #expect(facts["Result"] == "Rejected, nothing was imported: fix the file as the Error line says and send it again")
            #expect(facts["Error"] == "x.csv: the required column email is missing")
            #expect(facts["Note"] == "check only: nothing was changed")
        }
    }
}
