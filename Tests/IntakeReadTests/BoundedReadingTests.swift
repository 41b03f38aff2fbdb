import Foundation
import IntakeRead
import IntakeSystem
import IntakeTestSupport
import Testing

/// Inputs whose cost used to grow with something other than their real data: every one ends in
/// rows or a refusal naming the file (and the row and column where that applies), in bounded
/// memory. Peak memory is the child's own high-water mark (`INTAKE_REPORT_PEAK_MEMORY`).
@Suite struct BoundedReadingTests {
    static let header = #"<row r="1"><c r="A1" t="inlineStr"><is><t>external_id</t></is></c><c r="B1" t="inlineStr"><is><t>note</t></is></c></row>"#

    func preview(_ path: String, _ extra: [String] = []) throws -> ChildResult {
        try runChild(TestPaths.intake, ["preview", path, "--limit", "all"] + extra, environment: ["INTAKE_REPORT_PEAK_MEMORY": "1"])
    }

    @Test func aSparseRowCostsWhatItHoldsNotItsLastColumn() throws {
        try withTemporaryDirectory { dir in
            let rows = 50_000
            var xml = Array(#"<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#.utf8) + Array(Self.header.utf8)
            for r in 2...(rows + 1) {
                xml += Array(#"<row r="\#(r)"><c r="A\#(r)"><v>\#(r)</v></c><c r="XFD\#(r)"/></row>"#.utf8)
            }
            xml += Array(#"<row r="\#(rows + 2)"><c r="A\#(rows + 2)"><v>1</v></c><c r="XFD\#(rows + 2)" t="inlineStr"><is><t>far</t></is></c></row>"#.utf8)
            xml += Array("</sheetData></worksheet>".utf8)
            let path = dir + "/sparse.xlsx"
            try XLSXFixture.write(path, sheetXML: xml)
            #expect(fileSize(path) < 1 << 20)

            let child = try preview(path)
            #expect(child.status == 0, "\(child.stderr.suffix(500))")
            let lines = child.stdout.split(separator: "\n")
            #expect(lines.count == 1 + 1 + rows + 1)
            #expect(lines[2] == #"["2",""]"#, "two cells, the header's width, not 16,384")
            // The value past the header is reported on its row, by column.
            #expect(child.stderr.contains("line \(rows + 2): has a value in column XFD beyond the last header column B"))
            #expect(child.peakRSS > 0 && child.peakRSS < 100 << 20, "peak \(child.peakRSS >> 20) MiB")
        }
    }

    @Test func textAmplifiedBySharedStringsIsCappedPerRowAndPerFile() throws {
        try withTemporaryDirectory { dir in
            // Three 32,000-character strings, used over and over: a small file, a lot of text.
            let long = (0..<3).map { String(repeating: Character(UnicodeScalar(UInt8(65 + $0))), count: 32_000) }
            let sst = #"<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">"# + long.map { "<si><t>\($0)</t></si>" }.joined() + "</sst>"
            // A row of 40 such cells holds 1.28 MB: over a row's 1 MiB, rejected alone.
            var wide = #"<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1">"#
            wide += (0..<40).map { #"<c t="inlineStr"><is><t>c\#($0)</t></is></c>"# }.joined() + "</row>"
            wide += #"<row r="2">"# + (0..<40).map { #"<c t="s"><v>\#($0 % 3)</v></c>"# }.joined() + "</row>"
            wide += #"<row r="3"><c t="inlineStr"><is><t>fine</t></is></c></row></sheetData></worksheet>"#
            try XLSXFixture.write(dir + "/wide.xlsx", sheetXML: wide, sharedStrings: sst)
            let rows = try preview(dir + "/wide.xlsx")
            #expect(rows.status == 0)
            #expect(rows.stderr.contains("line 2: its cells add up to more than 1048576 bytes of text, more than a row may hold"))
            #expect(rows.stdout.split(separator: "\n").count == 4)

            // 20,000 rows of one such cell each: 640 MB of text from a file of a few hundred KB.
            var xml = Array(#"<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#.utf8) + Array(Self.header.utf8)
            for r in 2...20_001 { xml += Array(#"<row r="\#(r)"><c r="A\#(r)"><v>\#(r)</v></c><c r="B\#(r)" t="s"><v>\#(r % 3)</v></c></row>"#.utf8) }
            xml += Array("</sheetData></worksheet>".utf8)
            let path = dir + "/amplified.xlsx"
            try XLSXFixture.write(path, sheetXML: xml, sharedStrings: Array(sst.utf8))
            var options = ReadOptions()
            options.limits.maxTextBytes = 50_000_000
            let error = try #require(readError(path, options))
            #expect(error.kind == .limitExceeded)
            #expect(error.description.contains("amplified.xlsx") && error.message.contains("more than 50000000 bytes of text"), "\(error)")
            #expect(error.line.map { $0 > 1_000 && $0 < 2_000 } == true, "stopped at the row that crossed it: \(error)")
            #expect(ReadLimits().maxTextBytes == 1 << 30, "the default the README names")
        }
    }

    @Test func aLargeSharedStringsTableLeavesMemoryFlat() throws {
        try withTemporaryDirectory { dir in
            // 2.5 million distinct strings: about 90 MB of text and offsets, over the 48 MiB kept
            // in memory, so the table moves to scratch files.
            let count = 2_500_000
            var sst = Array(#"<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">"#.utf8)
            sst.reserveCapacity(count * 45)
            for i in 0..<count { sst += Array("<si><t>shared-string-number-\(i)</t></si>".utf8) }
            sst += Array("</sst>".utf8)
            let sheet = worksheetXML(Self.header + [0, 1_234_567, count - 1].enumerated().map { n, index in
                #"<row r="\#(n + 2)"><c r="A\#(n + 2)"><v>\#(n)</v></c><c r="B\#(n + 2)" t="s"><v>\#(index)</v></c></row>"#
            }.joined())
            let path = dir + "/big-sst.xlsx"
            try XLSXFixture.write(path, sheetXML: Array(sheet.utf8), sharedStrings: sst)
            let child = try preview(path)
            #expect(child.status == 0, "\(child.stderr.suffix(500))")
            #expect(child.stdout.split(separator: "\n").dropFirst(2) == [
                #"["0","shared-string-number-0"]"#, #"["1","shared-string-number-1234567"]"#, #"["2","shared-string-number-2499999"]"#,
            ])
            #expect(child.peakRSS > 0 && child.peakRSS < 100 << 20, "peak \(child.peakRSS >> 20) MiB")
        }
    }

    @Test func spilledAndInMemoryTablesReadTheSame() throws {
        try withTemporaryDirectory { dir in
            let strings = (0..<20_001).map { $0 % 7 == 3 ? "" : "s\($0)-Ж" }
            let sst = #"<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">"# + strings.map { "<si><t>\($0)</t></si>" }.joined() + "</sst>"
            let picks = [0, 1, 7, 10, 20_000, 20_001]
            let sheet = worksheetXML(Self.header + picks.enumerated().map { n, index in
                #"<row r="\#(n + 2)"><c r="A\#(n + 2)"><v>\#(n)</v></c><c r="B\#(n + 2)" t="s"><v>\#(index)</v></c></row>"#
            }.joined())
            let path = dir + "/sst.xlsx"
            try XLSXFixture.write(path, sheetXML: sheet, sharedStrings: sst)
            var small = ReadOptions()
            small.limits.sharedStringsMemoryBytes = 4096
            small.scratchDirectory = dir
            let spilled = try readTable(path, small)
            let inMemory = try readTable(path)
            #expect(spilled.cells == inMemory.cells)
            #expect(spilled.cells.map { $0[1] } == ["s0-Ж", "s1-Ж", "s7-Ж", "", "s20000-Ж", ""], "string 0 (the first pread), an empty one, the last")
            #expect(spilled.rows.last?.problem?.contains("refers to a shared string that does not exist") == true)
            #expect(try FileSystem.contents(of: dir) == ["sst.xlsx"], "scratch files have no name")
        }
    }

    @Test(arguments: ["-1", "abc", "1e3", "0x10", "+5", ""])
    func rowReferencesThatAreNotNumbersAreRefused(reference: String) throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/refs.xlsx"
            try XLSXFixture.write(path, sheetXML: worksheetXML(Self.header + #"<row r="\#(reference)"><c><v>1</v></c></row>"#))
            let error = try #require(readError(path))
            #expect(error.message == "row reference \"\(reference)\" is not a row number", "\(error)")
            #expect(error.description.contains("refs.xlsx"))
        }
    }

    @Test func aRowReferencePastTheSheetIsOutOfRange() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/far.xlsx"
            try XLSXFixture.write(path, sheetXML: worksheetXML(Self.header + #"<row r="99999999999999999999999"><c><v>1</v></c></row>"#))
            #expect(readError(path)?.message.contains("outside a worksheet") == true)
        }
    }

    @Test func aNULFromAnEscapeRejectsItsRowLikeCSV() throws {
        try withTemporaryDirectory { dir in
            let sst = #"<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>x_x0000_y</t></si></sst>"#
            let path = dir + "/nul.xlsx"
            try XLSXFixture.write(path, sheetXML: worksheetXML(Self.header
                + #"<row r="2"><c t="inlineStr"><is><t>a</t></is></c><c t="inlineStr"><is><t>b_x0000_c</t></is></c></row>"#
                + #"<row r="3"><c t="inlineStr"><is><t>d</t></is></c><c t="s"><v>0</v></c></row>"#
                + #"<row r="4"><c t="inlineStr"><is><t>e</t></is></c><c t="inlineStr"><is><t>_x005F_x0000_</t></is></c></row>"#), sharedStrings: sst)
            let result = try readTable(path)
            #expect(result.rows.map(\.problem) == ["cell B2 contains a NUL character (_x0000_)", "cell B3 contains a NUL character (_x0000_)", nil])
            #expect(result.rows[2].cells == ["e", "_x0000_"], "an escaped underscore is text")
        }
    }

    @Test func aFileThatTakesTooLongIsStoppedByItsDeadline() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/slow.csv"
            try writeFile(path, "external_id,note\n" + (0..<5_000).map { "\($0),x\n" }.joined())
            let time = ManualTime()
            var options = ReadOptions()
            options.deadline = ReadDeadline(seconds: 10, clock: time)
            let table = try Spreadsheet.open(path, options: options)
            for _ in 0..<500 { _ = try table.nextRow() }
            time.advance(by: 11)
            #expect {
                while try table.nextRow() != nil {}
            } throws: { error in
                (error as? ReadError)?.description == "slow.csv: reading the file took longer than 10 seconds, the limit max_seconds; nothing was imported"
            }
        }
    }

    @Test func theDeadlineCoversTheSharedStringsToo() throws {
        try withTemporaryDirectory { dir in
            let sst = #"<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>a</t></si></sst>"#
            let path = dir + "/slow.xlsx"
            try XLSXFixture.write(path, sheetXML: worksheetXML(Self.header), sharedStrings: sst)
            let time = ManualTime()
            var options = ReadOptions()
            options.deadline = ReadDeadline(seconds: 5, clock: time)
            time.advance(by: 6)
            #expect(readError(path, options)?.description == "slow.xlsx: reading the file took longer than 5 seconds, the limit max_seconds; nothing was imported")
        }
    }

    @Test func aHeaderWiderThanASheetIsRefused() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/wide.csv"
            try writeFile(path, (0...16_384).map { "c\($0)" }.joined(separator: ",") + "\n" + (0...16_384).map { _ in "v" }.joined(separator: ",") + "\n")
            let error = try #require(readError(path))
            #expect(error.kind == .limitExceeded)
            #expect(error.description == "wide.csv: line 1: the header has 16385 columns; at most 16384 are read, a worksheet's width", "\(error)")
        }
    }
}
