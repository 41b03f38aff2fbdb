import IntakeRead
import IntakeTestSupport

/// Everything a table yields, for assertions.
struct ReadResult {
    var info: SourceInfo
    var header: [String]
    var rows: [SourceRow]
    var cells: [[String]] { rows.map(\.cells) }
}

func readTable(_ path: String, _ options: ReadOptions = ReadOptions()) throws -> ReadResult {
    let table = try Spreadsheet.open(path, options: options)
    var rows: [SourceRow] = []
    while let row = try table.nextRow() { rows.append(row) }
    return ReadResult(info: table.info, header: table.header.cells, rows: rows)
}

/// Every record a reader yields, header included and blank records kept.
func readRecords(_ reader: any RecordReader) throws -> [SourceRow] { try readAllRecords(reader) }

/// The error a read throws, or nil when it reads fine.
func readError(_ path: String, _ options: ReadOptions = ReadOptions()) -> ReadError? {
    do {
        _ = try readTable(path, options)
        return nil
    } catch let error as ReadError {
        return error
    } catch {
        return ReadError(.io, file: path, "unexpected \(error)")
    }
}

let corpus = TestPaths.corpus
