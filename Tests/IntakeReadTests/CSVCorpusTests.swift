import Foundation
import IntakeRead
import IntakeTestSupport
import Testing

/// The public CSV suites in ../shared/corpus/csv: every file with an expected parse reads exactly so.
@Suite struct CSVCorpusTests {
    static let expectedFiles: [String] = {
        let dirs = ["csv-spectrum", "csvw"]
        return dirs.flatMap { dir -> [String] in
            let path = corpus + "/csv/" + dir
            let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
            return names.filter { $0.hasSuffix(".expected.json") }.sorted().map { dir + "/" + $0 }
        }
    }()

    @Test func corpusIsPresent() {
        #expect(Self.expectedFiles.count >= 15, "expected the shared corpus at \(corpus)")
    }

    @Test(arguments: expectedFiles)
    func readsAsExpected(_ expectedFile: String) throws {
        let csvPath = corpus + "/csv/" + expectedFile.replacingOccurrences(of: ".expected.json", with: ".csv")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: corpus + "/csv/" + expectedFile)))
        let expected = Self.expectedRows(json)
        let keys = expected.first.map { Array($0.keys) } ?? []
        if keys.allSatisfy({ $0.hasPrefix("_col.") }) {
            // CSVW tests without a header row: compare raw records by column number.
            let records = try readRecords(CSVReader(path: csvPath))
            #expect(records.count == expected.count)
            for (record, row) in zip(records, expected) {
                let cells = (1...row.count).map { row["_col.\($0)"] ?? "<missing>" }
                #expect(record.cells == cells)
            }
        } else {
            let result = try readTable(csvPath)
            var actual = result.rows.map { Dictionary(uniqueKeysWithValues: zip(result.header, $0.cells)) }
            if expectedFile == "csv-spectrum/location_coordinates.expected.json" {
                // Upstream csv-spectrum's expected file disagrees with its own CSV in this one
                // value (the .csv says 2095257564); every other cell must match exactly.
                #expect(actual.first?["Contact Phone Number"] == "2095257564")
                actual[0]["Contact Phone Number"] = expected.first?["Contact Phone Number"]
            }
            #expect(actual == expected, "\(expectedFile)")
            #expect(result.rows.allSatisfy { $0.problem == nil })
        }
    }

    /// csv-spectrum gives an array of objects (or one object); CSVW gives tables[].row[].describes[].
    static func expectedRows(_ json: Any) -> [[String: String]] {
        if let rows = json as? [[String: String]] { return rows }
        if let row = json as? [String: String] { return [row] }
        if let object = json as? [String: Any], let tables = object["tables"] as? [[String: Any]] {
            return tables.flatMap { table in
                (table["row"] as? [[String: Any]] ?? []).compactMap { ($0["describes"] as? [[String: String]])?.first }
            }
        }
        return []
    }

    @Test func csvkitEncodings() throws {
        let expected = [["a", "b", "c"], ["1", "2", "3"], ["4", "5", "ʤ"]]
        for (file, encoding) in [("test_utf16_little.csv", "utf-16le"), ("test_utf16_big.csv", "utf-16be")] {
            let result = try readTable(corpus + "/csv/csvkit/" + file)
            #expect(result.info.encoding == encoding)
            #expect([result.header] + result.cells == expected)
        }
        let bom = try readTable(corpus + "/csv/csvkit/test_utf8_bom.csv")
        #expect(bom.header == ["foo", "bar", "baz"])
        #expect(bom.info.encoding == "utf-8")
        let latin1 = try readTable(corpus + "/csv/csvkit/test_latin1.csv")
        #expect(latin1.info.encoding == "windows-1252")
        #expect(latin1.cells.last == ["4", "5", "©"])
    }

    @Test func csvkitShapes() throws {
        let mac = try readTable(corpus + "/csv/csvkit/mac_newlines.csv")
        #expect(mac.cells == [["1", "2", "3"], ["Once upon\ra time", "5", "6"]])

        let sniff = try readTable(corpus + "/csv/csvkit/sniff_limit.csv")
        #expect(sniff.info.delimiter == ";")
        #expect(sniff.cells == [["1", "2", "3"]])

        let bad = try readTable(corpus + "/csv/csvkit/bad.csv")
        #expect(bad.rows.map(\.number) == [2, 3, 4])
        #expect(bad.rows[0].problem == "has 4 fields, the header has 3")
        #expect(bad.rows[1].problem == "has 2 fields, the header has 3")
        #expect(bad.rows[2].problem == nil)

        let nul = try readTable(corpus + "/csv/csvkit/null_byte.csv")
        #expect(nul.rows.first?.problem == "field 1 contains a NUL byte")

        let locale = try readTable(corpus + "/csv/csvkit/test_locale.csv")
        #expect(locale.cells == [["1,7", "200.000.000", ""]])

        let header = try readTable(corpus + "/csv/csvkit/test_header_newline.csv")
        #expect(header.header == ["\t\n\u{0B}\u{0C}\r start \t\n\u{0B}\u{0C}\r end \t\n\u{0B}\u{0C}\r", "b", "c"])
        #expect(header.rows.first?.number == 8, "three LF and three lone CR inside the quoted header")

        let blanks = try readTable(corpus + "/csv/csvkit/blanks.csv")
        #expect(blanks.cells == [["", "NA", "N/A", "NONE", "NULL", "."]])
    }
}
