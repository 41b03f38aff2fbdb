import CXLSXWriter

#if canImport(Glibc)
import Glibc
#endif

/// What happened to one data row.
public enum RowStatus: String, Sendable, CaseIterable {
    case created, updated, unchanged, skipped, rejected
}

/// The file-level facts shown on the Summary sheet.
public struct ImportSummary: Sendable {
    public var importID: Int64?
    public var sourceFile: String
    public var partner: String
    public var receivedAt: String
    public var finishedAt: String
    public var format: String?
    public var encoding: String?
    public var delimiter: String?
    public var sheet: String?
    public var counts: [RowStatus: Int] = [:]
    public var rowsRead = 0
    /// Why the whole file was rejected, when it was.
    public var fileError: String?
    /// An extra line for the partner (e.g. "check only: nothing was changed").
    public var note: String?

    /// A summary with no counts, file details, error or note yet; they are filled in as the file
    /// is read.
    public init(sourceFile: String, partner: String, receivedAt: String, finishedAt: String) {
        self.sourceFile = sourceFile
        self.partner = partner
        self.receivedAt = receivedAt
        self.finishedAt = finishedAt
    }
}

/// A libxlsxwriter failure, with the library's own text.
public struct ReportError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
    init(_ what: String, _ code: lxw_error) {
        message = "\(what): \(String(cString: lxw_strerror(code)))"
    }
    init(_ message: String) { self.message = message }
}

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
    private typealias Sheet = UnsafeMutablePointer<lxw_worksheet>
    private typealias Format = UnsafeMutablePointer<lxw_format>

    private var workbook: Workbook?
    private let summarySheet: Sheet
    private var rowsSheet: Sheet
    private var rejectedSheet: Sheet
    private var rowsSheetCount = 1
    private var rejectedSheetCount = 1
    private var rowsLine: UInt32 = 0
    private var rejectedLine: UInt32 = 0
    private let header: [String]
    private let bold: Format
    private let statusFormats: [RowStatus: Format]
    private let wrap: Format

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

        func format(_ configure: (Format) -> Void) -> Format {
            let f = workbook_add_format(workbook)!
            configure(f)
            return f
        }
        bold = format { format_set_bold($0) }
        wrap = format { format_set_text_wrap($0) }
        // Formats are made once per workbook, never per cell: libxlsxwriter keeps every format.
        statusFormats = [
            .created: format { format_set_bg_color($0, 0xC6EFCE); format_set_font_color($0, 0x006100) },
            .updated: format { format_set_bg_color($0, 0xDDEBF7); format_set_font_color($0, 0x1F4E78) },
            .unchanged: format { format_set_bg_color($0, 0xEDEDED); format_set_font_color($0, 0x3A3A3A) },
            .skipped: format { format_set_bg_color($0, 0xFFEB9C); format_set_font_color($0, 0x9C5700) },
            .rejected: format { format_set_bg_color($0, 0xFFC7CE); format_set_font_color($0, 0x9C0006) },
        ]
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
        try headerRow(sheet, ["row", "external_id", "status", "message"])
        for (column, width) in [(0, 8.0), (1, 24.0), (2, 12.0), (3, 90.0)] {
            worksheet_set_column(sheet, UInt16(column), UInt16(column), width, nil)
        }
        worksheet_freeze_panes(sheet, 1, 0)
        rowsLine = 0
    }

    /// Columns of the source shown on the Rejected sheet: all of them but for a file exactly as
    /// wide as a sheet, whose last column gives way to `error` (its cells go into the error text).
    private var shownColumns: Int { min(header.count, Self.lastColumn) }
    /// XFD, a worksheet's last column, as a zero-based index.
    static let lastColumn = 16_383

    private func startRejectedSheet(_ sheet: Sheet) throws(ReportError) {
        try headerRow(sheet, Array(header.prefix(shownColumns)) + ["error"])
        if shownColumns > 0 { worksheet_set_column(sheet, 0, UInt16(shownColumns - 1), 18, nil) }
        worksheet_set_column(sheet, UInt16(shownColumns), UInt16(shownColumns), 70, nil)
        worksheet_freeze_panes(sheet, 1, 0)
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
            finishTable(rowsSheet, lastRow: rowsLine, lastColumn: 3)
            rowsSheetCount += 1
            rowsSheet = workbook_add_worksheet(workbook, "Rows (\(rowsSheetCount))")
            try startRowsSheet(rowsSheet)
        }
        rowsLine += 1
        try number(rowsSheet, rowsLine, 0, Double(sourceRow))
        try write(rowsSheet, rowsLine, 1, externalID, nil)
        try write(rowsSheet, rowsLine, 2, status.rawValue, statusFormats[status])
        if !message.isEmpty { try write(rowsSheet, rowsLine, 3, message, nil) }
    }

    /// Adds a rejected row to the Rejected sheet: its cells as sent, then the error.
    public func addRejected(cells: [String], error: String) throws(ReportError) {
        if rejectedLine == maxRowIndex {
            finishTable(rejectedSheet, lastRow: rejectedLine, lastColumn: shownColumns)
            rejectedSheetCount += 1
            rejectedSheet = workbook_add_worksheet(workbook, "Rejected (\(rejectedSheetCount))")
            try startRejectedSheet(rejectedSheet)
        }
        rejectedLine += 1
        for (column, value) in cells.prefix(shownColumns).enumerated() where !value.isEmpty {
            try write(rejectedSheet, rejectedLine, column, value, nil)
        }
        var error = error
        let hidden = cells.prefix(header.count).dropFirst(shownColumns).filter { !$0.isEmpty }
        if !hidden.isEmpty { error += " (past the last column a sheet has: \(hidden.joined(separator: " | ")))" }
        try write(rejectedSheet, rejectedLine, shownColumns, error, statusFormats[.rejected])
    }

    /// Writes the Summary sheet and closes the workbook, which writes the file.
    public func finish(_ summary: ImportSummary) throws(ReportError) {
        finishTable(rowsSheet, lastRow: rowsLine, lastColumn: 3)
        finishTable(rejectedSheet, lastRow: rejectedLine, lastColumn: shownColumns)

        let sheet = summarySheet
        worksheet_set_column(sheet, 0, 0, 22, nil)
        worksheet_set_column(sheet, 1, 1, 90, wrap)
        var line: UInt32 = 0
        func text(_ label: String, _ value: String?) throws(ReportError) {
            guard let value else { return }
            try write(sheet, line, 0, label, bold)
            try write(sheet, line, 1, value, nil)
            line += 1
        }
        func count(_ label: String, _ value: Int, _ status: RowStatus? = nil) throws(ReportError) {
            try write(sheet, line, 0, label, bold)
            try number(sheet, line, 1, Double(value), status.flatMap { value > 0 ? statusFormats[$0] : nil })
            line += 1
        }
        try text("Result", summary.fileError == nil ? "processed" : "rejected: nothing was imported")
        if let error = summary.fileError { try text("Error", error) }
        if let note = summary.note { try text("Note", note) }
        try text("Source file", summary.sourceFile)
        try text("Partner", summary.partner)
        if let id = summary.importID { try text("Import", String(id)) }
        try text("Received", summary.receivedAt + " UTC")
        try text("Finished", summary.finishedAt + " UTC")
        try text("Format", summary.format)
        try text("Encoding", summary.encoding)
        try text("Delimiter", summary.delimiter.map { $0 == "\t" ? "tab" : $0 })
        try text("Sheet read", summary.sheet)
        try count("Rows read", summary.rowsRead)
        try count("Created", summary.counts[.created] ?? 0, .created)
        try count("Updated", summary.counts[.updated] ?? 0, .updated)
        try count("Unchanged", summary.counts[.unchanged] ?? 0, .unchanged)
        if let skipped = summary.counts[.skipped], skipped > 0 { try count("Skipped", skipped, .skipped) }
        try count("Rejected", summary.counts[.rejected] ?? 0, .rejected)
        worksheet_activate(sheet)

        let rc = workbook_close(workbook)
        workbook = nil
        guard rc == LXW_NO_ERROR else { throw ReportError("writing the result workbook failed", rc) }
    }

    private func finishTable(_ sheet: Sheet, lastRow: UInt32, lastColumn: Int) {
        worksheet_autofilter(sheet, 0, 0, max(lastRow, 1), UInt16(min(lastColumn, Self.lastColumn)))
    }

    private func write(_ sheet: Sheet, _ row: UInt32, _ column: Int, _ value: String, _ format: Format?) throws(ReportError) {
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

    private func number(_ sheet: Sheet, _ row: UInt32, _ column: Int, _ value: Double, _ format: Format? = nil) throws(ReportError) {
        let rc = worksheet_write_number(sheet, row, UInt16(column), value, format)
        guard rc == LXW_NO_ERROR else { throw ReportError("writing cell \(column + 1) of line \(row + 1)", rc) }
    }
}
