/// Turns a worksheet's SAX events into rows of cell text.
///
/// Rows and cells without `r` attributes follow the one before; missing cells are empty; the
/// `<dimension>` element is never read, so a wrong one cannot mislead or size anything.
///
/// A row costs what it holds, never its last column's index: once the header's width is known
/// (``columnLimit``), cells past it are not stored (a value there is reported on the row), and a
/// row's text is capped (``ReadLimits/maxRowBytes``), as is the whole file's
/// (``ReadLimits/maxTextBytes``), since shared strings let a small file name a lot of text.
final class SheetParser: XMLHandler {
    private(set) var failure: ReadError?
    /// Completed rows, taken by the reader.
    var completed: [SourceRow] = []

    private let file: String
    private let sharedStrings: SharedStringTable
    private let styles: [NumberDisplay]
    private let date1904: Bool
    private let maxCharacters: Int
    private let maxRowBytes: Int
    private let maxTextBytes: Int64

    /// Columns stored per row: every column a sheet may have until the header (the first
    /// non-blank row) is read, then the header's width.
    private var columnLimit = SheetParser.maxColumns
    private var headerSeen = false

    private var rowNumber = 0
    private var cells: [String] = []
    private var rowProblem: String?
    private var nextColumn = 0
    /// Text bytes of the row so far, and of the whole sheet.
    private var rowBytes = 0
    private var textBytes: Int64 = 0
    /// The first column past ``columnLimit`` that holds a value, in this row.
    private var firstBeyondLimit: Int?
    /// Set by ``cellText()`` when the cell's text holds a NUL, which only an `_x0000_` escape
    /// can put there (XML itself cannot carry one).
    private var cellHasNUL = false

    // The cell being read.
    private var column = 0
    private var type: CellType = .number
    private var style = 0
    private var value: [UInt8] = []
    private var inlineText: [UInt8] = []
    private var hasInline = false
    private var capture: Capture = .none
    private var phoneticDepth = 0

    private enum CellType { case number, shared, inline, formulaString, boolean, error, date }
    private enum Capture { case none, value, inlineText }

    static let maxRows = 1_048_576
    static let maxColumns = 16_384

    init(file: String, sharedStrings: SharedStringTable, styles: [NumberDisplay], date1904: Bool, limits: ReadLimits) {
        self.file = file
        self.sharedStrings = sharedStrings
        self.styles = styles
        self.date1904 = date1904
        self.maxCharacters = limits.maxCellCharacters
        self.maxRowBytes = limits.maxRowBytes
        self.maxTextBytes = limits.maxTextBytes
    }

    func start(_ name: XMLName, _ attributes: XMLAttributes) {
        guard failure == nil else { return } // the first problem is the one reported
        let local = name.local
        // Dispatch on the first byte: c, v, t, is, row, rPh are the only elements that matter.
        switch UInt8(bitPattern: local[0]) {
        case UInt8(ascii: "c") where local[1] == 0:
            startCell(attributes)
        case UInt8(ascii: "v") where local[1] == 0:
            if !value.isEmpty { value.removeAll(keepingCapacity: true) }
            capture = .value
        case UInt8(ascii: "t") where local[1] == 0:
            if hasInline && phoneticDepth == 0 { capture = .inlineText }
        case UInt8(ascii: "i") where name.is("is"):
            hasInline = true
            if !inlineText.isEmpty { inlineText.removeAll(keepingCapacity: true) }
        case UInt8(ascii: "r") where name.is("row"):
            startRow(attributes)
        case UInt8(ascii: "r") where name.is("rPh"):
            phoneticDepth += 1
        default:
            break
        }
    }

    func end(_ name: XMLName) {
        guard failure == nil else { return }
        let local = name.local
        switch UInt8(bitPattern: local[0]) {
        case UInt8(ascii: "c") where local[1] == 0:
            endCell()
        case UInt8(ascii: "v") where local[1] == 0, UInt8(ascii: "t") where local[1] == 0:
            capture = .none
        case UInt8(ascii: "r") where name.is("row"):
            if let beyond = firstBeyondLimit {
                rowProblem = rowProblem ?? "has a value in column \(ColumnName.letters(beyond)) beyond the last header column \(ColumnName.letters(columnLimit - 1))"
            }
            let row = SourceRow(number: rowNumber, cells: cells, problem: rowProblem)
            if !headerSeen && !row.isBlank {
                // The first non-blank row is the header (as ``Table`` reads it): from the next
                // row on, no row stores more cells than its trimmed width.
                headerSeen = true
                columnLimit = max(cells.lastIndex(where: { !$0.isEmpty }).map { $0 + 1 } ?? 1, 1)
            }
            completed.append(row)
        case UInt8(ascii: "r") where name.is("rPh"):
            phoneticDepth -= 1
        default:
            break
        }
    }

    func text(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard failure == nil else { return }
        switch capture {
        case .none: return
        case .value: value.append(contentsOf: bytes)
        case .inlineText: inlineText.append(contentsOf: bytes)
        }
        if value.count + inlineText.count > maxCharacters * 4 { tooLong() }
    }

    private func startRow(_ attributes: XMLAttributes) {
        if let r = attributes.value("r") {
            // A reference that is not a row number is refused by name, never read as "the next row".
            guard let n = CellReference.rowNumber(r) else {
                failure = ReadError(.malformedXML, file: file, line: rowNumber + 1, "row reference \"\(String(cString: r))\" is not a row number")
                return
            }
            // Rows come in order, each once (Excel repairs a file that breaks this); a row that
            // goes back would make every message that names a row ambiguous.
            guard n >= 1 && n <= Self.maxRows else {
                failure = ReadError(.limitExceeded, file: file, line: n, "row \(n) is outside a worksheet (rows 1 to 1,048,576)")
                return
            }
            guard n > rowNumber else {
                failure = ReadError(.malformedXML, file: file, line: n, "row \(n) comes after row \(rowNumber); a worksheet lists its rows in order, each once")
                return
            }
            rowNumber = n
        } else {
            rowNumber += 1
        }
        if rowNumber > Self.maxRows || rowNumber < 1 {
            failure = ReadError(.limitExceeded, file: file, line: rowNumber, "row \(rowNumber) is outside a worksheet (rows 1 to 1,048,576)")
        }
        // A fresh array per row, not removeAll(keepingCapacity:): the last row still shares the
        // old buffer, and re-growing that shared buffer kept every row's cells alive while rows
        // crossed to the importing thread, so memory grew with the rows.
        cells = []
        cells.reserveCapacity(min(16, columnLimit))
        rowProblem = nil
        nextColumn = 0
        rowBytes = 0
        firstBeyondLimit = nil
    }

    private func startCell(_ attributes: XMLAttributes) {
        // One pass over the attributes (a cell has up to three that matter, all one letter long)
        // instead of a search per attribute: this runs for every cell of the sheet.
        var reference: UnsafePointer<CChar>?, typeName: UnsafePointer<CChar>?, styleIndex: UnsafePointer<CChar>?
        attributes.forEach { name, value in
            let local = name.local
            guard local[0] != 0 && local[1] == 0 else { return }
            switch UInt8(bitPattern: local[0]) {
            case UInt8(ascii: "r"): reference = value
            case UInt8(ascii: "t"): typeName = value
            case UInt8(ascii: "s"): styleIndex = value
            default: break
            }
        }
        if let r = reference {
            guard let parsed = CellReference.column(r) else {
                failure = ReadError(.malformedXML, file: file, line: rowNumber, "cell reference \"\(String(cString: r))\" is not valid")
                return
            }
            column = parsed
        } else {
            column = nextColumn
        }
        if column >= Self.maxColumns {
            failure = ReadError(.limitExceeded, file: file, line: rowNumber, "a cell lies beyond column XFD, the last column a worksheet has")
            return
        }
        type = .number
        if let t = typeName {
            switch (UInt8(bitPattern: t[0]), UInt8(bitPattern: t[1])) {
            case (UInt8(ascii: "s"), 0): type = .shared
            case (UInt8(ascii: "s"), _): type = .formulaString
            case (UInt8(ascii: "i"), _): type = .inline
            case (UInt8(ascii: "b"), _): type = .boolean
            case (UInt8(ascii: "e"), _): type = .error
            case (UInt8(ascii: "d"), _): type = .date
            default: type = .number
            }
        }
        style = styleIndex.flatMap(CellReference.index) ?? 0
        // Clearing an empty array still walks Array's generic replaceSubrange; most are empty.
        if !value.isEmpty { value.removeAll(keepingCapacity: true) }
        hasInline = false
        if !inlineText.isEmpty { inlineText.removeAll(keepingCapacity: true) }
    }

    private func endCell() {
        nextColumn = column + 1
        if column >= columnLimit {
            // Past the header: counted, never stored. An empty cell there costs nothing more.
            if firstBeyondLimit == nil && !(value.isEmpty && inlineText.isEmpty) && !cellText().isEmpty { firstBeyondLimit = column }
            return
        }
        let text = cellText()
        let bytes = text.utf8.count
        // UTF-16 units never outnumber UTF-8 bytes: only a long byte count needs the real count.
        if bytes > maxCharacters && text.utf16.count > maxCharacters { tooLong(); return }
        textBytes += Int64(bytes)
        if textBytes > maxTextBytes {
            failure = ReadError(.limitExceeded, file: file, line: rowNumber, "the workbook's cells add up to more than \(maxTextBytes) bytes of text (shared strings count each time a cell uses one), over the limit max_text_bytes; nothing was imported")
            return
        }
        // An empty cell is not stored: a later value pads up to it, and a row whose last cells
        // are empty costs nothing for them (a blank row far to the right costs nothing at all).
        if bytes == 0 { return }
        rowBytes += bytes
        if rowBytes > maxRowBytes {
            // The row is rejected; its cells are dropped so that it holds no more memory.
            if rowProblem == nil || !cells.isEmpty {
                rowProblem = "its cells add up to more than \(maxRowBytes) bytes of text, more than a row may hold"
                cells = []
            }
            return
        }
        if cellHasNUL {
            rowProblem = rowProblem ?? "cell \(ColumnName.letters(column))\(rowNumber) contains a NUL character (_x0000_)"
        }
        if column >= cells.count {
            if column > cells.count { cells.append(contentsOf: repeatElement("", count: column - cells.count)) }
            cells.append(text)
        } else {
            cells[column] = text
        }
    }

    private func cellText() -> String {
        cellHasNUL = false
        switch type {
        case .inline:
            // Some writers add a redundant <v>; the <is> text is the value.
            return decoded(hasInline ? inlineText : value)
        case .shared:
            let index = CellReference.index(value)
            let found: String?
            do { found = try index.flatMap(sharedStrings.string(at:)) } catch {
                failure = failure ?? ReadError(io: error, file: file)
                return ""
            }
            if let index, sharedStrings.holdsNUL(index) { cellHasNUL = true }
            guard let found else {
                if !value.isEmpty {
                    rowProblem = rowProblem ?? "cell \(ColumnName.letters(column))\(rowNumber) refers to a shared string that does not exist"
                }
                return ""
            }
            return found
        case .formulaString:
            return decoded(value)
        case .error:
            return String(decoding: value, as: UTF8.self)
        case .boolean:
            if value.isEmpty { return "" }
            return value == [UInt8(ascii: "0")] ? "FALSE" : "TRUE"
        case .date:
            return CellText.isoDate(String(decoding: value, as: UTF8.self))
        case .number:
            if value.isEmpty { return "" }
            let display = style < styles.count ? styles[style] : .number
            return display == .number ? CellText.number(String(decoding: value, as: UTF8.self)) : CellText.date(value, display: display, date1904: date1904)
        }
    }

    /// Raw cell text with its `_xHHHH_` escapes decoded, noting a NUL among them.
    private func decoded(_ bytes: [UInt8]) -> String {
        guard bytes.contains(UInt8(ascii: "_")) else { return String(decoding: bytes, as: UTF8.self) }
        let text = CellText.decodeEscapes(String(decoding: bytes, as: UTF8.self))
        if text.utf8.contains(0) { cellHasNUL = true }
        return text
    }

    private func tooLong() {
        failure = failure ?? ReadError(.limitExceeded, file: file, line: rowNumber, "cell \(ColumnName.letters(column))\(rowNumber) has more than \(maxCharacters) characters, more than a cell may hold")
        capture = .none
    }
}
