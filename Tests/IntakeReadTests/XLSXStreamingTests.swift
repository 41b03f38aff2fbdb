import Foundation
import IntakeRead
import IntakeTestSupport
import Testing

/// A sheet far larger than one inflated chunk: the sheet is inflated on a thread of its own,
/// ahead of the parser (EntryPrefetch).
@Suite struct XLSXStreamingTests {
    static let rows = 30_000

    func writeLargeWorkbook(_ path: String) throws {
        var xml = #"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#
        for r in 1...Self.rows {
            xml += #"<row r="\#(r)"><c r="A\#(r)"><v>\#(r)</v></c><c r="B\#(r)" t="inlineStr"><is><t>name \#(r) Пётр</t></is></c></row>"#
        }
        xml += "</sheetData></worksheet>"
        try XLSXFixture.write(path, sheetXML: xml)
    }

    /// Descriptors this process holds on `path`.
    func openDescriptors(on path: String) throws -> Int {
        // The kernel names open files by their canonical path.
        let canonical = URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
        return try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").filter {
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\($0)")) == canonical
        }.count
    }

    @Test func everyRowInOrderAcrossChunks() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/large.xlsx"
            try writeLargeWorkbook(path)
            let rows = try readAllRecords(XLSXReader(path: path))
            #expect(rows.count == Self.rows)
            #expect(rows.map(\.number) == Array(1...Self.rows))
            #expect(rows.allSatisfy { $0.cells == [String($0.number), "name \($0.number) Пётр"] })
        }
    }

    /// A reader given up after one row (a file rejected part-way) lets go of the workbook: the
    /// prefetching thread stops and the archive's descriptor is closed, in a long-running service too.
    @Test func anAbandonedReaderClosesTheWorkbook() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/large.xlsx"
            try writeLargeWorkbook(path)
            do {
                let reader = try XLSXReader(path: path)
                #expect(try reader.nextRecord()?.cells == ["1", "name 1 Пётр"])
                #expect(try openDescriptors(on: path) == 1)
            }
            #expect(try waitUntil(timeout: 10) { try openDescriptors(on: path) == 0 })
        }
    }
}
