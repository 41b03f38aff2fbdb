import CXLSXWriter

/// Column widths from the content written, since a spreadsheet file has no "fit to content":
/// each column is as wide as its longest text (in characters, plus a little room for the filter
/// button), within a minimum and a maximum.
///
/// Measured per cell while rows are written, so it must be cheap: the UTF-8 length is free and
/// bounds the character count from above; characters are counted only when the bytes say the
/// cell could be wider than the column so far.
struct ColumnWidths {
    private var widths: [Int]

    init(headers: [String]) {
        widths = headers.map { $0.count + 3 }
    }

    var count: Int { widths.count }

    /// Widens `column` for `text`, up to a cap past which wrapping takes over.
    mutating func fit(_ column: Int, _ text: String) {
        guard column < widths.count, text.utf8.count > widths[column] else { return }
        let characters = min(text.unicodeScalars.count, 200)
        if characters > widths[column] { widths[column] = characters }
    }

    /// Widens `column` for a number's digits (with its thousands separators).
    mutating func fit(_ column: Int, digits n: Int) {
        guard column < widths.count else { return }
        var digits = 1
        var rest = abs(n)
        while rest >= 10 { rest /= 10; digits += 1 }
        widths[column] = max(widths[column], digits + (digits - 1) / 3 + 1)
    }

    /// Sets the widths on a sheet, each between 6 and `maximum` characters, and returns them.
    @discardableResult
    func apply(to sheet: UnsafeMutablePointer<lxw_worksheet>, maximum: Int) -> [Int] {
        let set = widths.map { min(max($0, 6), maximum) }
        for (column, width) in set.enumerated() {
            worksheet_set_column(sheet, UInt16(column), UInt16(column), Double(width), nil)
        }
        return set
    }
}
