import CXLSXWriter

/// The template a partner downloads from the portal: a `Customers` sheet with the header the
/// partner's settings expect and one example row, and a `Columns` sheet that explains each
/// column. Every cell is text, so Excel keeps leading zeros and `+` in phone numbers and does
/// not turn the example date into a number in another format. Sent back unchanged, it imports
/// with no rejected row.
public enum TemplateWorkbook {
    /// One column of the template.
    public struct Column: Sendable {
        public var header: String
        public var example: String
        public var explanation: String
        public init(header: String, example: String, explanation: String) {
            self.header = header
            self.example = example
            self.explanation = explanation
        }
    }

    /// Writes the template to `path`.
    public static func write(path: String, columns: [Column]) throws(ReportError) {
        guard let workbook = workbook_new(path) else { throw ReportError("cannot create the template workbook \(path)") }
        let bold = workbook_add_format(workbook)!
        format_set_bold(bold)
        let text = workbook_add_format(workbook)!
        format_set_num_format(text, "@")
        let wrap = workbook_add_format(workbook)!
        format_set_text_wrap(wrap)
        format_set_align(wrap, UInt8(LXW_ALIGN_VERTICAL_TOP.rawValue))

        let sheet = workbook_add_worksheet(workbook, "Customers")
        let help = workbook_add_worksheet(workbook, "Columns")
        var failure: lxw_error = LXW_NO_ERROR
        func check(_ rc: lxw_error) { if rc != LXW_NO_ERROR && failure == LXW_NO_ERROR { failure = rc } }
        for (index, column) in columns.enumerated() {
            let c = UInt16(index)
            worksheet_set_column(sheet, c, c, Double(min(max(column.header.count, column.example.count) + 4, 40)), text)
            check(worksheet_write_string(sheet, 0, c, column.header, bold))
            check(worksheet_write_string(sheet, 1, c, column.example, text))
        }
        worksheet_freeze_panes(sheet, 1, 0)

        worksheet_set_column(help, 0, 0, 24, nil)
        worksheet_set_column(help, 1, 1, 80, wrap)
        check(worksheet_write_string(help, 0, 0, "column", bold))
        check(worksheet_write_string(help, 0, 1, "what to put in it", bold))
        for (index, column) in columns.enumerated() {
            check(worksheet_write_string(help, UInt32(index + 1), 0, column.header, bold))
            check(worksheet_write_string(help, UInt32(index + 1), 1, column.explanation, wrap))
        }
        worksheet_activate(sheet)
        let rc = workbook_close(workbook)
        guard failure == LXW_NO_ERROR else { throw ReportError("writing the template workbook", failure) }
        guard rc == LXW_NO_ERROR else { throw ReportError("writing the template workbook failed", rc) }
    }
}
