import Foundation
import IntakeRead
import IntakeTestSupport
import Testing

/// The CSV reader on files made for each case: delimiters, encodings, line ends and bad input.
@Suite struct CSVReaderTests {
    func read(_ bytes: [UInt8], name: String = "partner.csv", _ options: ReadOptions = ReadOptions()) throws -> ReadResult {
        try withTemporaryDirectory { dir in
            let path = dir + "/" + name
            try writeFile(path, bytes)
            return try readTable(path, options)
        }
    }

    func error(_ bytes: [UInt8], name: String = "partner.csv", _ options: ReadOptions = ReadOptions()) -> ReadError? {
        withTemporaryDirectory { dir in
            let path = dir + "/" + name
            try? writeFile(path, bytes)
            return readError(path, options)
        }
    }

    @Test(arguments: [(",", ","), (";", ";"), ("\t", "\t"), ("|", "|")])
    func detectsDelimiter(_ delimiter: String, _ expected: String) throws {
        let d = delimiter
        let text = "id\(d)name\(d)note\r\n1\(d)\"Smith\(d) John\"\(d)x\r\n2\(d)Ann\(d)\"say \"\"hi\"\"\"\r\n"
        let result = try read(Array(text.utf8))
        #expect(result.info.delimiter == expected)
        #expect(result.header == ["id", "name", "note"])
        #expect(result.cells == [["1", "Smith\(d) John", "x"], ["2", "Ann", "say \"hi\""]])
    }

    @Test func semicolonFileWithDecimalCommasAndQuotedCommas() throws {
        // As Excel writes CSV in a Russian or German locale.
        let text = "Имя;Сумма;Комментарий\n\"Иванов, Иван\";1,5;\"a, b, c\"\nПетров;2,75;x\n"
        let result = try read(Array(text.utf8))
        #expect(result.info.delimiter == ";")
        #expect(result.cells == [["Иванов, Иван", "1,5", "a, b, c"], ["Петров", "2,75", "x"]])
    }

    @Test func delimiterInsideQuotesDoesNotFoolDetection() throws {
        let text = "name,city\n\"a;b;c;d\",x\n\"e;f;g;h\",y\n"
        let result = try read(Array(text.utf8))
        #expect(result.info.delimiter == ",")
        #expect(result.cells == [["a;b;c;d", "x"], ["e;f;g;h", "y"]])
    }

    @Test func lineEndsAndLastLine() throws {
        for text in ["a,b\r\n1,2\r\n3,4", "a,b\n1,2\n3,4\n", "a,b\r1,2\r3,4\r", "a,b\n\n1,2\n\r\n3,4\n\n"] {
            let result = try read(Array(text.utf8))
            #expect(result.header == ["a", "b"], "\(text.debugDescription)")
            #expect(result.cells == [["1", "2"], ["3", "4"]], "\(text.debugDescription)")
        }
    }

    /// A file whose last record ends without a line break and falls short of the header was cut
    /// off in transfer: that row says so (and is rejected); a short row ended by a line break, or a
    /// whole last row without one, is just what it is.
    @Test func aCutOffLastLineSaysSo() throws {
        let cut = try read(Array("a,b,c\n1,2,3\n4,5".utf8))
        #expect(cut.rows.map(\.problem) == [nil, SourceRow.cutOff])
        #expect(SourceRow.cutOff.hasSuffix("the last line is incomplete: was the upload cut off?"))
        let quoted = try read(Array("a,b,c\n1,2,3\n4,\"fi\"".utf8))
        #expect(quoted.rows.last?.problem == SourceRow.cutOff)
        let short = try read(Array("a,b,c\n1,2,3\n4,5\n".utf8))
        #expect(short.rows.last?.problem == "has 2 fields, the header has 3")
        let whole = try read(Array("a,b,c\n1,2,3\n4,5,6".utf8))
        #expect(whole.rows.map(\.problem) == [nil, nil])
    }

    @Test func rowNumbersAreLinesWhereRecordsStart() throws {
        let result = try read(Array("a,b\n1,\"two\nlines\"\n\n3,4\n".utf8))
        #expect(result.rows.map(\.number) == [2, 5])
    }

    @Test func trailingEmptyFieldAtEndOfFile() throws {
        let result = try read(Array("a,b,c\n1,2,".utf8))
        #expect(result.cells == [["1", "2", ""]])
    }

    @Test func textAfterClosingQuoteIsKept() throws {
        let result = try read(Array("a,b\n\"abc\"def,x\nab\"c,y\n".utf8))
        #expect(result.cells == [["abcdef", "x"], ["ab\"c", "y"]])
    }

    @Test func windows1251IsDetected() throws {
        let text = "external_id;name;city\n1;Иванов Пётр;Москва\n2;Сидорова Анна;Санкт-Петербург\n"
        let bytes = try #require(text.data(using: .windowsCP1251))
        let result = try read(Array(bytes))
        #expect(result.info.encoding == "windows-1251")
        #expect(result.cells == [["1", "Иванов Пётр", "Москва"], ["2", "Сидорова Анна", "Санкт-Петербург"]])
    }

    @Test func windows1252IsDetected() throws {
        let text = "id,name\n1,José Müller\n2,Françoise Gärtner\n"
        let bytes = try #require(text.data(using: .windowsCP1252))
        let result = try read(Array(bytes))
        #expect(result.info.encoding == "windows-1252")
        #expect(result.cells == [["1", "José Müller"], ["2", "Françoise Gärtner"]])
    }

    @Test func explicitEncodingOverridesDetection() throws {
        // Valid UTF-8 bytes that the partner says are Windows-1251: the override wins.
        let bytes = Array("a\nПривет\n".utf8)
        let result = try read(bytes, ReadOptions(encoding: .windows1251))
        #expect(result.info.encoding == "windows-1251")
        #expect(result.cells == [["РџСЂРёРІРµС‚"]])
        let latin = try read([0x61, 0x0A, 0xE9, 0x0A], ReadOptions(encoding: .latin1))
        #expect(latin.cells == [["é"]])
    }

    @Test func explicitDelimiterOverridesDetection() throws {
        let result = try read(Array("a;b,c\n1;2,3\n".utf8), ReadOptions(delimiter: UInt8(ascii: ";")))
        #expect(result.header == ["a", "b,c"])
    }

    @Test func utf16WithAndWithoutBOM() throws {
        let text = "id\tname\n1\tЖанна\n2\t😀 smile\n"
        let le = Array(text.utf16).flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
        let be = Array(text.utf16).flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
        for (bytes, encoding) in [([0xFF, 0xFE] + le, "utf-16le"), ([0xFE, 0xFF] + be, "utf-16be"), (le, "utf-16le"), (be, "utf-16be")] {
            let result = try read(bytes)
            #expect(result.info.encoding == encoding)
            #expect(result.info.delimiter == "\t")
            #expect(result.cells == [["1", "Жанна"], ["2", "😀 smile"]])
        }
    }

    @Test func utf16SurrogatePairAcrossChunkBoundaries() throws {
        // Enough rows that the 1 MiB read chunks split characters and surrogate pairs.
        var text = "id,name\n"
        for i in 0..<60_000 { text += "\(i),😀Жё\n" }
        let bytes: [UInt8] = [0xFF, 0xFE] + Array(text.utf16).flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
        let result = try read(bytes)
        #expect(result.rows.count == 60_000)
        #expect(result.rows.allSatisfy { $0.cells[1] == "😀Жё" })
    }

    @Test func invalidUTF8AfterTheSampleIsARowProblem() throws {
        var bytes = Array("a,b\n".utf8)
        for i in 0..<20_000 { bytes += Array("\(i),plain ascii text\n".utf8) }
        bytes += [0x78, 0x2C, 0xFF, 0xFE, 0x0A] + Array("y,ok\n".utf8)
        let result = try read(bytes)
        #expect(result.info.encoding == "utf-8")
        let bad = try #require(result.rows.first { $0.problem != nil })
        #expect(bad.number == 20_002)
        #expect(bad.problem == "field 2 is not valid utf-8 text")
        #expect(result.rows.last?.cells == ["y", "ok"])
    }

    @Test func unterminatedQuoteNamesTheLineItOpened() throws {
        let error = try #require(self.error(Array("a,b\n1,2\n3,\"never closed\n4,5\n6,7\n".utf8)))
        #expect(error.kind == .unterminatedQuote)
        #expect(error.line == 3)
        #expect(error.description == "partner.csv: line 3: a quoted field opened on this line is never closed")
    }

    @Test func oversizedRecordIsRejectedWithoutReadingOn() throws {
        var options = ReadOptions()
        options.limits.maxRecordBytes = 64 << 10
        var bytes = Array("a,b\n1,\"".utf8)
        bytes += [UInt8](repeating: UInt8(ascii: "x"), count: 300 << 10)
        bytes += Array("\"\n".utf8)
        let error = try #require(self.error(bytes, options))
        #expect(error.kind == .recordTooLarge)
        #expect(error.line == 2)
        #expect(error.message.contains("larger than 65536 bytes"))
    }

    @Test func emptyAndHeaderOnlyFiles() throws {
        #expect(error([])?.kind == .empty)
        #expect(error([])?.description == "partner.csv: the file is empty")
        #expect(error([0xEF, 0xBB, 0xBF])?.kind == .empty)
        #expect(error(Array("\n\r\n\n".utf8))?.description == "partner.csv: the file has no rows")
        let headerOnly = try #require(error(Array("external_id,email\n".utf8)))
        #expect(headerOnly.kind == .empty)
        #expect(headerOnly.description == "partner.csv: line 1: the file has a header but no data rows")
    }

    @Test func fieldCountMismatchReportsTheRowAndReadsOn() throws {
        let result = try read(Array("a,b,c\n1,2,3\n4,5\n6,7,8,9\n10,11,12\n".utf8))
        #expect(result.rows.map(\.problem) == [nil, "has 2 fields, the header has 3", "has 4 fields, the header has 3", nil])
        #expect(result.rows.last?.cells == ["10", "11", "12"])
    }

    @Test func workbookNamedFileThatIsNotAZip() throws {
        let error = try #require(self.error(Array("a,b\n1,2\n".utf8), name: "list.XLSX"))
        #expect(error.kind == .notAWorkbook)
    }
}
