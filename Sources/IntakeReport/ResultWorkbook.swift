import CXLSXWriter

#if canImport(Glibc)
import Glibc
#endif

/// The one owner of an `lxw_workbook*`: the result workbook a partner reads.
///
/// Written in libxlsxwriter's constant-memory mode, so rows go to disk as they are added and a
/// million-row import needs no more memory than a ten-row one. Sheets: `Summary` (written last,
/// shown first), `Rows` (one line per data row, continued on `Rows (2)`, ...), and `Rejected`
/// (the rejected rows as the partner sent them, plus an `error` column). Every value is written
/// as a string or number cell, never as a formula, so `=HYPERLINK(...)` is shown as text.
///
/// Not `Sendable`: a workbook is built by one thread.
public final class ResultWorkbook {
    private typealias Workbook = UnsafeMutablePointer<lxw_workbook>
    typealias Sheet = UnsafeMutablePointer<lxw_worksheet>
    typealias Format = UnsafeMutablePointer<lxw_format>

    private var workbook: Workbook?
    let summarySheet: Sheet
    private var rowsSheet: Sheet
    private var rejectedSheet: Sheet
    private var rowsSheetCount = 1
    private var rejectedSheetCount = 1
    private var rowsLine: UInt32 = 0
    private var rejectedLine: UInt32 = 0
    private let header: [String]
    let bold: Format
    let title: Format
    let statusFormats: [RowStatus: Format]
    let wrap: Format
    let count: Format
    let statusCounts: [RowStatus: Format]
    /// Widths of the Rows and Rejected sheets' columns, from what is written into them.
    private var rowsWidths = ColumnWidths(headers: ResultWorkbook.rowsHeader)
    private var rejectedWidths: ColumnWidths

    /// The custom document property that marks a workbook as Intake's (IntakeRead's
    /// `ResultWorkbookMark.propertyName`, kept equal by a test): a result workbook sent back is
    /// read from its Rejected sheet, without the `error` column.
    public static let markProperty = "Intake result workbook"
    static let rowsHeader = ["row", "external_id", "status", "message"]

    /// Excel's last row index; a sheet holds a header and 1,048,575 data rows.
    public static let excelDataRowsPerSheet = 1_048_575
    /// Data rows per sheet before continuing on the next (Excel's limit, lower in tests).
    private let maxRowIndex: UInt32

    /// Starts a workbook at `path` (which should be a temporary name; see ``finish(_:)``).
    /// - Parameters:
    ///   - sourceHeader: the partner's header, for the Rejected sheet.
    ///   - scratchDirectory: where libxlsxwriter keeps its per-sheet temporary files.
    public init(path: String, sourceHeader: [String], scratchDirectory: String? = nil, rowsPerSheet: Int = excelDataRowsPerSheet) throws(ReportError) {
        maxRowIndex = UInt32(max(1, min(rowsPerSheet, Self.excelDataRowsPerSheet)))
        var options = lxw_workbook_options()
        options.constant_memory = 1
        let created: Workbook? = scratchDirectory.map { dir in
            dir.withCString { tmp in
                options.tmpdir = UnsafeMutablePointer(mutating: tmp)
                return workbook_new_opt(path, &options)
            }
        } ?? workbook_new_opt(path, &options)
        guard let workbook = created else { throw ReportError("cannot create the result workbook \(path)") }
        self.workbook = workbook
        header = sourceHeader
        rejectedWidths = ColumnWidths(headers: Array(sourceHeader.prefix(Self.lastColumn)) + ["error"])
        let marked = workbook_set_custom_property_string(workbook, Self.markProperty, "Send this workbook back as it is: its Rejected sheet is read, the error column is ignored")
        guard marked == LXW_NO_ERROR else { throw ReportError("marking the result workbook", marked) }

        func format(_ configure: (Format) -> Void) -> Format {
            let f = workbook_add_format(workbook)!
            configure(f)
            return f
        }
        bold = format { format_set_bold($0); format_set_align($0, UInt8(LXW_ALIGN_VERTICAL_TOP.rawValue)) }
        title = format { format_set_bold($0); format_set_font_size($0, 12); format_set_text_wrap($0); format_set_align($0, UInt8(LXW_ALIGN_VERTICAL_TOP.rawValue)) }
        wrap = format { format_set_text_wrap($0); format_set_align($0, UInt8(LXW_ALIGN_VERTICAL_TOP.rawValue)) }
        // Counts sit next to their labels (left-aligned), with thousands separated.
        count = format { format_set_num_format($0, "#,##0"); format_set_align($0, UInt8(LXW_ALIGN_LEFT.rawValue)) }
        // Formats are made once per workbook, never per cell: libxlsxwriter keeps every format.
        let colors: [RowStatus: (background: UInt32, font: UInt32)] = [
            .created: (0xC6EFCE, 0x006100), .updated: (0xDDEBF7, 0x1F4E78), .unchanged: (0xEDEDED, 0x3A3A3A),
            .skipped: (0xFFEB9C, 0x9C5700), .rejected: (0xFFC7CE, 0x9C0006),
        ]
        statusFormats = colors.mapValues { color in
            format { format_set_bg_color($0, color.background); format_set_font_color($0, color.font) }
        }
        // The Summary's counts in their status's colours, aligned like the other counts.
        statusCounts = colors.mapValues { color in
            format {
                format_set_bg_color($0, color.background); format_set_font_color($0, color.font)
                format_set_num_format($0, "#,##0"); format_set_align($0, UInt8(LXW_ALIGN_LEFT.rawValue))
            }
        }
        summarySheet = workbook_add_worksheet(workbook, "Summary")
        rowsSheet = workbook_add_worksheet(workbook, "Rows")
        rejectedSheet = workbook_add_worksheet(workbook, "Rejected")
        try startRowsSheet(rowsSheet)
        try startRejectedSheet(rejectedSheet)
    }

    deinit {
        // An unfinished workbook still owns its handle and temp files; closing frees them.
        if let workbook { workbook_close(workbook) }
    }

    private func startRowsSheet(_ sheet: Sheet) throws(ReportError) {
        try headerRow(sheet, Self.rowsHeader)
        Self.setUpTable(sheet)
        rowsLine = 0
    }

    /// A table sheet on screen and on paper: the header stays in view and is printed on every
    /// page, pages are landscape and as wide as the columns need, up to one page across.
    private static func setUpTable(_ sheet: Sheet) {
        worksheet_freeze_panes(sheet, 1, 0)
        worksheet_set_landscape(sheet)
        worksheet_fit_to_pages(sheet, 1, 0)
        worksheet_repeat_rows(sheet, 0, 0)
    }

    /// Columns of the source shown on the Rejected sheet: all of them but for a file exactly as
    /// wide as a sheet, whose last column gives way to `error` (its cells go into the error text).
    private var shownColumns: Int { min(header.count, Self.lastColumn) }
    /// XFD, a worksheet's last column, as a zero-based index.
    static let lastColumn = 16_383

    private func startRejectedSheet(_ sheet: Sheet) throws(ReportError) {
        try headerRow(sheet, Array(header.prefix(shownColumns)) + ["error"])
        Self.setUpTable(sheet)
        rejectedLine = 0
    }

    private func headerRow(_ sheet: Sheet, _ names: [String]) throws(ReportError) {
        for (column, name) in names.prefix(Self.lastColumn + 1).enumerated() {
            try write(sheet, 0, column, name, bold)
        }
    }

    /// Adds a line to the Rows sheet.
    public func addRow(number sourceRow: Int, externalID: String, status: RowStatus, message: String) throws(ReportError) {
        if rowsLine == maxRowIndex {
            finishTable(rowsSheet, lastRow: rowsLine, widths: rowsWidths)
            rowsSheetCount += 1
            rowsSheet = workbook_add_worksheet(workbook, "Rows (\(rowsSheetCount))")
            try startRowsSheet(rowsSheet)
        }
        rowsLine += 1
        try number(rowsSheet, rowsLine, 0, Double(sourceRow))
        try write(rowsSheet, rowsLine, 1, externalID, nil)
        try write(rowsSheet, rowsLine, 2, status.rawValue, statusFormats[status])
        if !message.isEmpty { try write(rowsSheet, rowsLine, 3, message, nil) }
        rowsWidths.fit(0, digits: sourceRow)
        rowsWidths.fit(1, externalID)
        rowsWidths.fit(3, message)
    }

    /// Adds a rejected row to the Rejected sheet: its cells as sent, then the error.
    public func addRejected(cells: [String], error: String) throws(ReportError) {
        if rejectedLine == maxRowIndex {
            finishTable(rejectedSheet, lastRow: rejectedLine, widths: rejectedWidths)
            rejectedSheetCount += 1
            rejectedSheet = workbook_add_worksheet(workbook, "Rejected (\(rejectedSheetCount))")
            try startRejectedSheet(rejectedSheet)
        }
        rejectedLine += 1
        for (column, value) in cells.prefix(shownColumns).enumerated() where !value.isEmpty {
            try write(rejectedSheet, rejectedLine, column, value, nil)
            rejectedWidths.fit(column, value)
        }
        var error = error
        let hidden = cells.prefix(header.count).dropFirst(shownColumns).filter { !$0.isEmpty }
        if !hidden.isEmpty { error += " (past the last column a sheet has: \(hidden.joined(separator: " | ")))" }
        try write(rejectedSheet, rejectedLine, shownColumns, error, statusFormats[.rejected])
        rejectedWidths.fit(shownColumns, error)
    }

    /// Writes the Summary sheet (``writeSummary(_:)``) and closes the workbook, which writes the file.
    public func finish(_ summary: ImportSummary) throws(ReportError) {
        finishTable(rowsSheet, lastRow: rowsLine, widths: rowsWidths)
        finishTable(rejectedSheet, lastRow: rejectedLine, widths: rejectedWidths)
        try writeSummary(summary)

        let rc = workbook_close(workbook)
        workbook = nil
        guard rc == LXW_NO_ERROR else { throw ReportError("writing the result workbook failed", rc) }
    }

    private func finishTable(_ sheet: Sheet, lastRow: UInt32, widths: ColumnWidths) {
        worksheet_autofilter(sheet, 0, 0, max(lastRow, 1), UInt16(min(widths.count - 1, Self.lastColumn)))
        widths.apply(to: sheet, maximum: 60)
    }

    func write(_ sheet: Sheet, _ row: UInt32, _ column: Int, _ value: String, _ format: Format?) throws(ReportError) {
        // A cell holds at most 32,767 characters; C strings end at NUL, so NUL is made visible.
        // UTF-16 units never outnumber UTF-8 bytes, so the byte count (free) rules out almost every cell.
        var text = value.utf8.count > 32_767 && value.utf16.count > 32_767 ? String(value.prefix(32_000)) + "…" : value
        let hasNUL = text.withUTF8 { bytes in bytes.count > 0 && memchr(bytes.baseAddress!, 0, bytes.count) != nil }
        if hasNUL { text = String(text.map { $0 == "\0" ? "\u{FFFD}" : $0 }) }
        // withCString uses the string's own NUL-terminated storage; passing `text` directly would
        // copy it into a new array for every cell.
        let rc = text.withCString { worksheet_write_string(sheet, row, UInt16(column), $0, format) }
        guard rc == LXW_NO_ERROR else { throw ReportError("writing cell \(column + 1) of line \(row + 1)", rc) }
    }

    func number(_ sheet: Sheet, _ row: UInt32, _ column: Int, _ value: Double, _ format: Format? = nil) throws(ReportError) {
        let rc = worksheet_write_number(sheet, row, UInt16(column), value, format)
        guard rc == LXW_NO_ERROR else { throw ReportError("writing cell \(column + 1) of line \(row + 1)", rc) }
    }
}
