import IntakeSystem

/// A file as a header and data rows: the first non-blank record is the header, blank records are
/// skipped, and every data row is checked against the header's width.
public final class Table {
    /// The partner's name for the file, used in every message.
    public let name: String
    public let header: SourceRow
    private let reader: any RecordReader
    private let deadline: ReadDeadline?
    private var dataRows = 0
    /// Records read, blank ones too, for the deadline's checks.
    private var records = 0
    /// The `error` column of a result workbook sent back: read past the header, then dropped.
    private var droppedErrorColumn = false

    /// The widest file read: a worksheet's last column is XFD, the 16,384th, and a result
    /// workbook must be able to show every column of a rejected row.
    public static let maxColumns = 16_384

    public var info: SourceInfo { reader.info }

    /// Reads the header: the first non-blank record, without its trailing empty cells.
    /// - Throws: ``ReadError`` `.empty` when the file has no non-blank record, `.limitExceeded`
    ///   when the header is wider than ``maxColumns`` or the deadline passes first.
    public init(reader: any RecordReader, name: String, deadline: ReadDeadline? = nil) throws(ReadError) {
        self.reader = reader
        self.name = name
        self.deadline = deadline
        while let record = try reader.nextRecord() {
            records += 1
            if records % 1024 == 0 { try deadline?.check(file: name) }
            if record.isBlank { continue }
            var header = Self.trimmingTrailingEmpty(record)
            if reader.info.isResultWorkbook, header.cells.count > 1, header.cells.last == ResultWorkbookMark.errorColumn {
                header.cells.removeLast()
                droppedErrorColumn = true
            }
            self.header = header
            if header.cells.count > Self.maxColumns {
                throw ReadError(.limitExceeded, file: name, line: header.number, "the header has \(header.cells.count) columns; at most \(Self.maxColumns) are read, a worksheet's width")
            }
            return
        }
        let what = reader.info.sheet.map { "the sheet \"\($0)\" has no rows" } ?? "the file has no rows"
        throw ReadError(.empty, file: name, what)
    }

    /// The next non-blank data row, with ``SourceRow/problem`` set when its width is wrong.
    /// - Throws: ``ReadError`` when the file cannot be read further, or `.empty` when the file
    ///   turns out to hold a header and no data rows.
    public func nextRow() throws(ReadError) -> SourceRow? {
        while let record = try reader.nextRecord() {
            records += 1
            if records % 1024 == 0 { try deadline?.check(file: name) }
            var record = record
            if droppedErrorColumn, record.cells.count > header.cells.count {
                record.cells.remove(at: header.cells.count)
            }
            if record.isBlank { continue }
            dataRows += 1
            return fitted(record)
        }
        if dataRows == 0 {
            if info.isResultWorkbook {
                throw ReadError(.empty, file: name, line: header.number, "is an Intake result workbook with no rows on its Rejected sheet: there is nothing to send back")
            }
            throw ReadError(.empty, file: name, line: header.number, "the file has a header but no data rows")
        }
        return nil
    }

    /// A header's trailing empty cells are not columns (spreadsheets often carry a few).
    private static func trimmingTrailingEmpty(_ row: SourceRow) -> SourceRow {
        var row = row
        while let last = row.cells.last, last.isEmpty, row.cells.count > 1 { row.cells.removeLast() }
        return row
    }

    private func fitted(_ record: SourceRow) -> SourceRow {
        var row = record
        let width = header.cells.count
        if row.cells.count == width { return row }
        switch info.format {
        case .xlsx:
            // A sheet leaves out trailing empty cells; only a value past the header is a problem.
            if row.cells.count < width {
                row.cells.append(contentsOf: repeatElement("", count: width - row.cells.count))
            } else if let extra = row.cells[width...].firstIndex(where: { !$0.isEmpty }) {
                row.problem = row.problem ?? "has a value in column \(ColumnName.letters(extra)) beyond the last header column \(ColumnName.letters(width - 1))"
                row.cells.removeLast(row.cells.count - width)
            } else {
                row.cells.removeLast(row.cells.count - width)
            }
        case .csv:
            if row.endsTheFileWithoutLineBreak && row.cells.count < width {
                row.isCutOff = true
                row.problem = row.problem ?? SourceRow.cutOff
            } else {
                row.problem = row.problem ?? "has \(row.cells.count) fields, the header has \(width)"
            }
        }
        return row
    }
}

/// Spreadsheet column letters.
public enum ColumnName {
    /// `0` → `A`, `25` → `Z`, `26` → `AA`.
    public static func letters(_ index: Int) -> String {
        var n = index + 1
        var out: [Character] = []
        while n > 0 {
            let r = (n - 1) % 26
            out.append(Character(UnicodeScalar(UInt8(65 + r))))
            n = (n - 1) / 26
        }
        return String(out.reversed())
    }
}

/// Opens any partner file as a ``Table``.
public enum Spreadsheet {
    /// Opens `path` as CSV or XLSX. The content decides, not only the name: a zip is read as a
    /// workbook, an OLE2 container is refused (encrypted workbooks and legacy .xls live in one),
    /// anything else is read as CSV unless its name says it should be a workbook.
    public static func open(_ path: String, options: ReadOptions = ReadOptions()) throws(ReadError) -> Table {
        let name = options.displayName ?? FileSystem.baseName(of: path)
        let magic: [UInt8]
        do {
            let fd = try FileDescriptor(opening: path)
            let bytes = ChunkBuffer(count: 8)
            let n = try fd.read(into: bytes.raw)
            magic = Array(bytes.prefix(n))
        } catch {
            throw ReadError(io: error, file: name)
        }
        let lowered = name.lowercased()
        let wantsWorkbook = lowered.hasSuffix(".xlsx") || lowered.hasSuffix(".xlsm")
        if magic.starts(with: [0x50, 0x4B, 0x03, 0x04]) || (wantsWorkbook && magic.starts(with: [0x50, 0x4B])) {
            return try Table(reader: XLSXReader(path: path, options: options), name: name, deadline: options.deadline)
        }
        if magic.starts(with: [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
            throw OLE2.refusal(path: path, name: name)
        }
        if wantsWorkbook {
            if magic.isEmpty { throw ReadError(.empty, file: name, "the file is empty") }
            throw ReadError(.notAWorkbook, file: name, "is named like a workbook but is not a zip archive, so it is not an XLSX file")
        }
        return try Table(reader: CSVReader(path: path, options: options), name: name, deadline: options.deadline)
    }
}
