import Foundation
import IntakeImport
import IntakeRead
import IntakeStore
import IntakeTestSupport
import Testing

/// Whole files that used to crash the result or swell past memory: each ends processed, or
/// rejected with a result workbook that says why, nothing half-applied.
@Suite struct HostileFilesTests {
    @Test func aFileWiderThanASheetIsRejectedUpFront() throws {
        try withImportEnvironment { env in
            let header = (0...16_384).map { "c\($0)" }.joined(separator: ",")
            let outcome = try env.importText(header + "\n" + (0...16_384).map { _ in "v" }.joined(separator: ",") + "\n", name: "wide.csv")
            #expect(outcome.fileError == "wide.csv: line 1: the header has 16385 columns; at most 16384 are read, a worksheet's width")
            #expect(try summary(outcome.resultPath)["Error"] == outcome.fileError)
            #expect(try env.database.scalar("SELECT count(*) FROM imports WHERE status = 'rejected'") == 1)
        }
    }

    @Test func aRejectedRowAsWideAsASheetKeepsItsLastCellInTheErrorText() throws {
        try withImportEnvironment { env in
            // Exactly 16,384 columns: the Rejected sheet shows 16,383 of them and the error in XFD.
            let required = ["external_id", "email", "name", "phone", "created_at"]
            let header = required + (required.count..<16_384).map { "a\($0)" }
            var bad = ["B-1", "not an email", "", "", ""] + Array(repeating: "", count: 16_384 - 5)
            bad[16_383] = "the last cell"
            var good = ["G-1", "", "Ann", "", ""] + Array(repeating: "", count: 16_384 - 5)
            good[16_383] = "kept"
            let text = [header, bad, good].map { $0.joined(separator: ",") }.joined(separator: "\n") + "\n"
            let outcome = try env.importText(text, name: "sheet-wide.csv")
            #expect(outcome.fileError == nil)
            #expect(outcome.record.created == 1 && outcome.record.rejected == 1)
            let rejected = try sheet(outcome.resultPath, "Rejected")
            #expect(rejected[0].count == 16_384 && rejected[0].last == "error")
            let error = try #require(rejected[1].last)
            #expect(error.contains("not an email") && error.hasSuffix("(past the last column a sheet has: the last cell)"), "\(error)")
            #expect(try env.customers().first?[5]?.contains(#""a16383":"kept""#) == true)
        }
    }

    @Test func amplifiedTextIsRejectedWholeInBoundedMemory() throws {
        try withTemporaryDirectory { dir in
            let long = (0..<3).map { String(repeating: Character(UnicodeScalar(UInt8(65 + $0))), count: 32_000) }
            let sst = #"<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">"# + long.map { "<si><t>\($0)</t></si>" }.joined() + "</sst>"
            let header = ["external_id", "email", "name", "phone", "created_at", "note"]
            var xml = Array(#"<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1">"#.utf8)
            for name in header { xml += Array(#"<c t="inlineStr"><is><t>\#(name)</t></is></c>"#.utf8) }
            xml += Array("</row>".utf8)
            for r in 2...5_001 { xml += Array(#"<row r="\#(r)"><c r="A\#(r)" t="inlineStr"><is><t>ID-\#(r)</t></is></c><c r="F\#(r)" t="s"><v>\#(r % 3)</v></c></row>"#.utf8) }
            xml += Array("</sheetData></worksheet>".utf8)
            let path = dir + "/amplified.xlsx"
            try XLSXFixture.write(path, sheetXML: xml, sharedStrings: Array(sst.utf8))
            #expect(fileSize(path) < 256 << 10)
            try writeFile(dir + "/settings.yaml", "defaults:\n  limits:\n    max_text_bytes: 40000000\n")

            let run = try runChild(TestPaths.intake, ["import", path, "--root", dir + "/var", "--config", dir + "/settings.yaml", "--partner", "acme"],
                                   environment: ["INTAKE_REPORT_PEAK_MEMORY": "1"])
            #expect(run.status == 1, "\(run.stdout) \(run.stderr.suffix(400))")
            #expect(run.stdout.contains("rejected: amplified.xlsx: line "), "\(run.stdout)")
            #expect(run.stdout.contains("more than 40000000 bytes of text (shared strings count each time a cell uses one), over the limit max_text_bytes"))
            #expect(run.peakRSS > 0 && run.peakRSS < 256 << 20, "peak \(run.peakRSS >> 20) MiB")
            let db = try Database(path: dir + "/var/state/intake.sqlite")
            #expect(try db.scalar("SELECT count(*) FROM customers") == 0, "nothing of it committed")
        }
    }

    /// Behind a header as wide as a sheet, rows with a single value in its last column: each
    /// such row is 16,384 cells for a few bytes of XML, so memory is bounded by how much XML is
    /// parsed at a time, not by how many such rows a chunk of it holds.
    @Test func sparseRowsBehindASheetWideHeaderStayInBoundedMemory() throws {
        try withTemporaryDirectory { dir in
            let header = ["external_id", "email", "name", "phone", "created_at"] + (5..<16_384).map { "a\($0)" }
            var xml = Array(#"<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1">"#.utf8)
            for name in header { xml += Array(#"<c t="inlineStr"><is><t>\#(name)</t></is></c>"#.utf8) }
            xml += Array("</row>".utf8)
            let rows = 1_000
            for r in 2...(rows + 1) {
                xml += Array(#"<row r="\#(r)"><c r="A\#(r)"><v>\#(r)</v></c><c r="XFD\#(r)" t="inlineStr"><is><t>z</t></is></c></row>"#.utf8)
            }
            xml += Array("</sheetData></worksheet>".utf8)
            let path = dir + "/wide-sparse.xlsx"
            try XLSXFixture.write(path, sheetXML: xml)
            let run = try runChild(TestPaths.intake, ["import", path, "--root", dir + "/var", "--partner", "acme"],
                                   environment: ["INTAKE_REPORT_PEAK_MEMORY": "1"])
            #expect(run.status == 0, "\(run.stdout) \(run.stderr.suffix(400))")
            #expect(run.stdout.contains("\(rows) rows: \(rows) created"), "\(run.stdout)")
            #expect(run.peakRSS > 0 && run.peakRSS < 256 << 20, "peak \(run.peakRSS >> 20) MiB")
        }
    }
}
