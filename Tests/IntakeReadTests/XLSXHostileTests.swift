import Foundation
import IntakeRead
import IntakeTestSupport
import Testing

/// Hostile and broken workbooks: each is refused with a clear error, in bounded memory and time.
@Suite struct XLSXHostileTests {
    func error(sheet: [UInt8], sharedStrings: String? = nil, options: ReadOptions = ReadOptions()) throws -> ReadError? {
        try withTemporaryDirectory { dir in
            let path = dir + "/hostile.xlsx"
            try XLSXFixture.write(path, sheetXML: sheet, sharedStrings: sharedStrings.map { Array($0.utf8) })
            return readError(path, options)
        }
    }

    func error(sheet: String, sharedStrings: String? = nil, options: ReadOptions = ReadOptions()) throws -> ReadError? {
        try error(sheet: Array(sheet.utf8), sharedStrings: sharedStrings, options: options)
    }

    @Test func zipBombIsStoppedInBoundedMemory() throws {
        // 256 MiB of whitespace deflates about a thousandfold: a small file that inflates hugely.
        var sheet = Array(#"<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#.utf8)
        sheet += [UInt8](repeating: 0x20, count: 256 << 20)
        sheet += Array("</sheetData></worksheet>".utf8)
        try withTemporaryDirectory { dir in
            let path = dir + "/bomb.xlsx"
            try XLSXFixture.write(path, sheetXML: sheet)
            let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? 0
            #expect(size < 2 << 20)
            let child = try runChild(TestPaths.intake, ["preview", path])
            #expect(child.status == 2)
            #expect(child.stderr.contains("bomb.xlsx: the part \"xl/worksheets/sheet1.xml\" inflates more than"))
            #expect(child.peakRSS < 64 << 20, "peak RSS \(child.peakRSS)")
        }
    }

    @Test func partSizeCapHolds() throws {
        var options = ReadOptions()
        options.limits.maxPartBytes = 1 << 20
        var rows = ""
        for i in 0..<40_000 { rows += "<row r=\"\(i + 1)\"><c r=\"A\(i + 1)\"><v>\(i * 7919 % 100_003)</v></c></row>" }
        let error = try #require(try self.error(sheet: worksheetXML(rows), options: options))
        #expect(error.kind == .archiveBomb)
        #expect(error.message.contains("inflates past the limit of 1048576 bytes"))
    }

    @Test func doctypeIsRefused() throws {
        let laughs = """
        <?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">\
        <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>\
        <worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row><c t="inlineStr"><is><t>&lol3;</t></is></c></row></sheetData></worksheet>
        """
        let error = try #require(try self.error(sheet: laughs))
        #expect(error.kind == .unsafeXML)
        #expect(error.message.contains("DOCTYPE"))

        let external = """
        <?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\
        <worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row><c t="inlineStr"><is><t>&xxe;</t></is></c></row></sheetData></worksheet>
        """
        #expect(try self.error(sheet: external)?.kind == .unsafeXML)
    }

    @Test func deepNestingIsRefused() throws {
        let deep = String(repeating: "<a>", count: 100_000) + String(repeating: "</a>", count: 100_000)
        let error = try #require(try self.error(sheet: worksheetXML("<row><c><v>1</v></c></row>" + deep)))
        #expect(error.kind == .unsafeXML)
        #expect(error.message.contains("nests elements more than 64 deep"))
    }

    @Test func sharedStringsThatOutgrowTheirBudget() throws {
        var options = ReadOptions()
        options.limits.maxSharedStringBytes = 1 << 20
        let sst = #"<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">"# + String(repeating: "<si/>", count: 300_000) + "</sst>" // 4 bytes of bookkeeping each
        let error = try #require(try self.error(sheet: worksheetXML(#"<row r="1"><c r="A1" t="s"><v>0</v></c></row>"#), sharedStrings: sst, options: options))
        #expect(error.kind == .limitExceeded)
        #expect(error.message.contains("shared strings table holds more than 1048576 bytes"))
    }

    @Test func overlongCellIsRefused() throws {
        let long = String(repeating: "x", count: 40_000)
        let error = try #require(try self.error(sheet: worksheetXML(#"<row r="1"><c r="A1" t="inlineStr"><is><t>a</t></is></c><c r="B1" t="inlineStr"><is><t>b</t></is></c></row><row r="2"><c r="B2" t="inlineStr"><is><t>"# + long + "</t></is></c></row>")))
        #expect(error.kind == .limitExceeded)
        #expect(error.line == 2)
        #expect(error.message == "cell B2 has more than 32767 characters, more than a cell may hold")
    }

    @Test func cellsOutsideTheGridAreRefused() throws {
        let column = try #require(try self.error(sheet: worksheetXML(#"<row r="1"><c r="XFE1"><v>1</v></c></row>"#)))
        #expect(column.kind == .limitExceeded)
        #expect(column.message.contains("beyond column XFD"))
        let row = try #require(try self.error(sheet: worksheetXML(#"<row r="1048577"><c><v>1</v></c></row>"#)))
        #expect(row.kind == .limitExceeded)
        #expect(row.line == 1_048_577)
        // The last cell of the grid is fine.
        #expect(try self.error(sheet: worksheetXML(#"<row r="1"><c r="A1"><v>1</v></c></row><row r="1048576"><c r="XFD1048576"><v>1</v></c></row>"#)) == nil)
    }

    @Test func truncatedAndCorruptZips() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/upload.xlsx"
            try XLSXFixture.write(path, sheetXML: XLSXFixture.sheet(rows: (0..<2000).map { ["id\($0)", "name \($0)"] }))
            let whole = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))

            try writeFile(path, Array(whole[0..<(whole.count * 6 / 10)]))
            let truncated = try #require(readError(path))
            #expect(truncated.kind == .corruptArchive)
            #expect(truncated.message.contains("truncated or corrupt"))

            var flipped = whole
            for i in stride(from: 900, to: 1400, by: 7) { flipped[i] ^= 0x5A }
            try writeFile(path, flipped)
            let corrupt = try #require(readError(path))
            #expect([.corruptArchive, .malformedXML].contains(corrupt.kind), "\(corrupt)")
        }
    }

    @Test func duplicateEntriesAreRefused() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/dup.xlsx"
            try ZipBuilder.write(path, [
                .init("[Content_Types].xml", XLSXFixture.contentTypes), .init("_rels/.rels", XLSXFixture.rootRels),
                .init("xl/workbook.xml", XLSXFixture.workbook), .init("xl/_rels/workbook.xml.rels", XLSXFixture.workbookRels),
                .init("xl/worksheets/sheet1.xml", worksheetXML("<row><c><v>1</v></c></row>")),
                .init("xl\\Worksheets\\Sheet1.xml", worksheetXML("<row><c><v>2</v></c></row>")),
            ])
            let error = try #require(readError(path))
            #expect(error.kind == .corruptArchive)
            #expect(error.message.contains("holds the part"))
        }
    }

    @Test func overlappingEntriesAreRefused() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/overlap.xlsx"
            try writeFile(path, OverlappingZip.make(payload: [UInt8](repeating: 0x41, count: 20_000), names: ["_rels/.rels", "xl/workbook.xml", "a.xml"]))
            let error = try #require(readError(path))
            #expect([.corruptArchive, .archiveBomb].contains(error.kind), "\(error)")
        }
    }
}

/// A zip whose central directory points several entries at one stored local file: the shape of
/// the "overlapping files" zip bomb.
enum OverlappingZip {
    static func make(payload: [UInt8], names: [String]) -> [UInt8] {
        let crc = crc32(payload)
        let first = Array(names[0].utf8)
        var out: [UInt8] = []
        func u16(_ v: Int) { out += [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF)] }
        func u32(_ v: UInt32) { out += [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 24)] }
        u32(0x0403_4B50); u16(20); u16(0); u16(0); u16(0); u16(0); u32(crc)
        u32(UInt32(payload.count)); u32(UInt32(payload.count)); u16(first.count); u16(0)
        out += first + payload
        let directoryStart = out.count
        for name in names {
            let bytes = Array(name.utf8)
            u32(0x0201_4B50); u16(20); u16(20); u16(0); u16(0); u16(0); u16(0); u32(crc)
            u32(UInt32(payload.count)); u32(UInt32(payload.count)); u16(bytes.count); u16(0); u16(0); u16(0); u16(0)
            u32(0); u32(0)
            out += bytes
        }
        let directorySize = out.count - directoryStart
        u32(0x0605_4B50); u16(0); u16(0); u16(names.count); u16(names.count)
        u32(UInt32(directorySize)); u32(UInt32(directoryStart)); u16(0)
        return out
    }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            crc ^= UInt32(b)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }
}
