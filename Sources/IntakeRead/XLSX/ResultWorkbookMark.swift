/// How a result workbook that comes back is recognised and read.
///
/// A partner who fixes the rejected rows sends the result workbook back as it is. Intake writes a
/// custom document property into every result workbook (IntakeReport's `ResultWorkbook`, a test
/// keeps the two names equal); Excel, LibreOffice and openpyxl keep custom properties when they
/// save. A spreadsheet that drops them still leaves the sheets, so a workbook whose first
/// worksheets are `Summary`, `Rows` and `Rejected`, with `error` last in the Rejected header, is
/// taken for one too. Either way the `Rejected` sheet is read, unless a sheet is named in the
/// settings, and its trailing `error` column is dropped.
public enum ResultWorkbookMark {
    /// The custom document property's name.
    public static let propertyName = "Intake result workbook"
    /// The sheet read from a result workbook.
    public static let rejectedSheet = "Rejected"
    /// The column Intake adds to the rejected rows, ignored when they come back.
    public static let errorColumn = "error"
    /// The sheets a result workbook starts with, in order.
    static let sheets = ["Summary", "Rows", "Rejected"]
}
