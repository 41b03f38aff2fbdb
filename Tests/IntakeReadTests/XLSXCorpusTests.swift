import Foundation
import IntakeRead
import IntakeTestSupport
import Testing

/// The real workbooks in ../shared/corpus/xlsx: each quirk listed in INDEX.txt, checked by value.
@Suite struct XLSXCorpusTests {
    /// A cell expected at (1-based sheet row, 0-based column) of the records the reader yields.
    struct Expectation: CustomTestStringConvertible, Sendable {
        var file: String
        var sheet: String
        var cells: [(row: Int, column: Int, value: String)]
        var testDescription: String { file }
    }

    static let expectations: [Expectation] = [
        .init(file: "cal_date.xlsx", sheet: "Sheet1", cells: [(1, 0, "2021-01-01"), (1, 1, "15"), (3, 0, "255:10:10")]),
        .init(file: "cal_date_1904.xlsx", sheet: "Sheet1", cells: [(1, 0, "2021-01-01"), (2, 0, "2021-01-02"), (3, 0, "255:10:10")]),
        .init(file: "cal_date_iso.xlsx", sheet: "Sheet", cells: [(1, 0, "2021-01-01"), (2, 0, "2021-01-01 10:10:10"), (3, 0, "10:10:10")]),
        .init(file: "cal_date_quoted_format.xlsx", sheet: "Sheet1", cells: [(1, 0, "2021-01-01"), (4, 0, "2021-01-01")]),
        .init(file: "cal_errors.xlsx", sheet: "Feuil1", cells: [(1, 0, "#DIV/0!"), (2, 0, "#NAME?"), (3, 0, "#VALUE!")]),
        .init(file: "cal_formula.issue.xlsx", sheet: "Sheet1", cells: [(1, 0, "23"), (1, 2, "23")]),
        .init(file: "cal_has_x000D_.xlsx", sheet: "Sheet1", cells: [(1, 0, "ABC\r\nDEF")]),
        .init(file: "cal_has_x000D_inline.xlsx", sheet: "Sheet1", cells: [(1, 0, "ABC\r\nDEF")]),
        .init(file: "cal_hyperlinks.xlsx", sheet: "Links", cells: [(1, 0, "calamine repo"), (2, 0, "Rust Programming Language")]),
        .init(file: "cal_inlineStr_cdata.xlsx", sheet: "Sheet1", cells: [(1, 0, "Hello CDATA"), (2, 0, "12345"), (2, 1, "NormalText")]),
        .init(file: "cal_inlineStr_with_value.xlsx", sheet: "Requirements", cells: [(1, 0, "NN"), (2, 4, "RQ11610")]),
        .init(file: "cal_issue9.xlsx", sheet: "Feuil1", cells: [(1, 0, "test1"), (2, 0, "test2 other"), (3, 0, "test3 aaa")]),
        .init(file: "cal_issue_174.xlsx", sheet: "Sheet1", cells: [(1, 0, "Your Ref #"), (2, 5, "1.5"), (2, 7, "1.201")]),
        .init(file: "cal_issue_261.xlsx", sheet: "Some Sheet", cells: [(1, 0, "String Value 32"), (7, 0, "String Value 29"), (11, 0, "2023-03-15")]),
        .init(file: "cal_issue_261_fixed_by_excel.xlsx", sheet: "Some Sheet", cells: [(1, 0, "String Value 32"), (7, 0, "String Value 29"), (11, 0, "2023-03-15")]),
        .init(file: "cal_issue_419.xlsx", sheet: "Sheet1", cells: [(1, 0, "Hello")]),
        .init(file: "cal_issue_530.xlsx", sheet: "出勤分类组织汇总表", cells: [(1, 0, "报表导出人："), (1, 1, "于国栋")]),
        .init(file: "cal_issue_553.xlsx", sheet: "Sheet1", cells: [(2, 1, "영어"), (5, 1, "영어"), (6, 1, "한글")]),
        .init(file: "cal_issues.xlsx", sheet: "datatypes", cells: [(1, 0, "1"), (2, 0, "1.5"), (3, 0, "ab"), (4, 0, "FALSE")]),
        .init(file: "cal_any_sheets.xlsx", sheet: "Visible", cells: [(1, 0, "1"), (1, 1, "2")]),
        .init(file: "cal_minimal_package.xlsx", sheet: "Sheet1", cells: [(1, 0, "ARREST BOOKINGS for 01/30/17")]),
        .init(file: "cal_nonstandard-xml-ns-prefix.xlsx", sheet: "Sheet1", cells: [(1, 0, "a"), (2, 0, "1"), (3, 1, "4")]),
        .init(file: "cal_richtext-namespaced.xlsx", sheet: "Sheet1", cells: [(1, 0, "inline string\nLine 2\nLine 3"), (1, 7, "shared string\nLine 2\nLine 3")]),
        .init(file: "cal_richtext-after-plain.xlsx", sheet: "Sheet1", cells: [(1, 0, "abcd"), (2, 0, "tvalrval1rval2"), (2, 1, "rval1rval2")]),
        .init(file: "cal_rph.xlsx", sheet: "Sheet1", cells: [(1, 0, "課きく　毛こ")]),
        .init(file: "cal_strict_iso_paths.xlsx", sheet: "ml_out", cells: [(1, 0, "Item"), (2, 0, "150-031260-001_B"), (2, 9, "1051527.39333333")]),
        .init(file: "cal_whitespace_trim.xlsx", sheet: "inlineStr", cells: [(1, 0, "  trimmed value  "), (2, 1, "  line1\nline2  "), (3, 0, "日期 时间")]),
        .init(file: "cal_empty_shared_string_value.xlsx", sheet: "Sheet1", cells: [(2, 0, "Alice"), (2, 1, ""), (3, 1, "Berlin")]),
        .init(file: "edr_NoDimensionOrCellReferenceAttribute.xlsx", sheet: "Continent", cells: [(1, 0, "Date"), (2, 0, "2017-03-06"), (2, 6, "249")]),
        .init(file: "edr_Test_Issue_NoStyles_NoRAttribute.xlsx", sheet: "Sheet1", cells: [(1, 0, "AddressLine1"), (5, 4, "ROW NUMBER 5"), (5, 7, "s@gmail.com")]),
        .init(file: "edr_LowerCaseReferenceAttribute.xlsx", sheet: "Sheet1", cells: [(1, 0, "A1"), (1, 3, "D1"), (2, 2, "C2"), (3, 4, "E3")]),
        .init(file: "edr_Test_git_issue_301_IgnoreCase.xlsx", sheet: "Sheet1", cells: [(1, 0, "col1"), (3, 8, "10x19")]),
        .init(file: "edr_Test_git_issue_385_backslash.xlsx", sheet: "Sheet1", cells: [(1, 0, "col1"), (3, 1, "10x12")]),
        .init(file: "edr_Test_git_issue_629.xlsx", sheet: "executions__div__150223-171635-", cells: [(1, 0, "BVI Excel Sheet_V7_1"), (2, 0, "KVG Bic")]),
        .init(file: "edr_Test_googlesourced.xlsx", sheet: "Sheet 1", cells: [(1, 0, "UPC"), (2, 0, "9583638582"), (2, 1, "49.99")]),
        .init(file: "edr_Test_Issue_12667_GoogleExport_MissingColumns.xlsx", sheet: "Dataset1", cells: [(1, 0, "PK_Col1"), (1, 5, "Data_Col4")]),
        .init(file: "edr_Test_git_issue_283_TimeSpan.xlsx", sheet: "Sheet1", cells: [(2, 0, "24:00:00"), (5, 0, "1416:00:00"), (2, 3, "1")]),
        .init(file: "edr_Test_git_Issue_649_Date1904_Parsings.xlsx", sheet: "Sheet1", cells: [(12, 12, "2023-09-01")]),
        .init(file: "edr_roo_1904_base.xlsx", sheet: "Prices", cells: [(1, 0, "2009-06-15"), (2, 0, "2013-04-19")]),
        .init(file: "edr_Test_Issue_11522_OpenXml.xlsx", sheet: "TestExport", cells: [(1, 0, "Name"), (2, 1, "677"), (2, 5, "F")]),
        .init(file: "edr_Test_git_issue_53_Cached_Formula_String_Type.xlsx", sheet: "Sheet1", cells: [(2, 2, "3"), (3, 2, "AB"), (4, 2, "1,")]),
        .init(file: "edr_Test_Issue_BoolFormula.xlsx", sheet: "Sheet1", cells: [(1, 0, "TRUE")]),
        .init(file: "edr_Test_git_issue_329_error.xlsx", sheet: "Sheet1", cells: [(1, 0, "#DIV/0!"), (1, 1, "#N/A")]),
        .init(file: "cal_vba.xlsm", sheet: "Sheet1", cells: []),
        .init(file: "cal_empty_sheet.xlsx", sheet: "Sheet1", cells: []),
    ]

    @Test(arguments: expectations)
    func readsQuirkValues(_ expectation: Expectation) throws {
        let reader = try XLSXReader(path: corpus + "/xlsx/" + expectation.file)
        #expect(reader.info.sheet == expectation.sheet)
        let records = try readRecords(reader)
        let byRow = Dictionary(records.map { ($0.number, $0.cells) }, uniquingKeysWith: { a, _ in a })
        for cell in expectation.cells {
            let row = byRow[cell.row] ?? []
            let value = cell.column < row.count ? row[cell.column] : "<no cell>"
            #expect(value == cell.value, "\(expectation.file) row \(cell.row) column \(cell.column)")
        }
    }

    @Test func everyValidWorkbookInTheCorpusIsCovered() throws {
        let index = try String(contentsOfFile: corpus + "/xlsx/INDEX.txt", encoding: .utf8)
        let listed = index.split(separator: "\n").filter { !$0.hasPrefix("#") }.compactMap { $0.split(separator: "\t").first.map(String.init) }
        let rejected: Set = ["cal_pass_protected.xlsx", "edr_agile_AES128_SHA1_CBC_pwd_password.xlsx", "edr_EmptyZipFile.xlsx"]
        let covered = Set(Self.expectations.map(\.file))
        for file in listed where !rejected.contains(file) {
            #expect(covered.contains(file), "\(file) has no expectation")
        }
    }

    @Test(arguments: ["cal_pass_protected.xlsx", "edr_agile_AES128_SHA1_CBC_pwd_password.xlsx"])
    func passwordProtectedIsRefused(_ file: String) throws {
        let error = try #require(readError(corpus + "/xlsx/" + file))
        #expect(error.kind == .passwordProtected)
        #expect(error.description == "\(file): password-protected workbooks are not supported; save it without a password and send it again")
    }

    @Test func zipWithoutWorkbookIsRefused() throws {
        let error = try #require(readError(corpus + "/xlsx/edr_EmptyZipFile.xlsx"))
        #expect(error.kind == .notAWorkbook)
        #expect(error.message.contains("no _rels/.rels"))
    }

    @Test func emptySheetReadsButHasNoRows() throws {
        let error = try #require(readError(corpus + "/xlsx/cal_empty_sheet.xlsx"))
        #expect(error.kind == .empty)
        #expect(error.description == "cal_empty_sheet.xlsx: the sheet \"Sheet1\" has no rows")
    }

    @Test func hiddenSheetsAndChartsheetsAreSkipped() throws {
        let result = try readTable(corpus + "/xlsx/cal_any_sheets.xlsx")
        #expect(result.info.sheet == "Visible")
    }
}
