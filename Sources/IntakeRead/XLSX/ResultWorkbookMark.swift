/// How a result workbook that comes back is recognised and read.
///
/// A partner who fixes the rejected rows sends the result workbook back as it is. Intake writes a
/// custom document property into every result workbook (IntakeReport's `ResultWorkbook`, a test
/// keeps the two names equal); Excel, LibreOffice and openpyxl keep custom properties when they
/// save. A marked workbook is read from its `Rejected` sheet, and a trailing `error` column there
/// is dropped. A workbook that has the sheets (`Summary`, `Rows`, `Rejected`) but lost the mark
/// is refused with a message saying what to do: the sheets alone cannot tell it from a partner's
/// own workbook.
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
