import Foundation
import IntakeRead
import IntakeTestSupport
import Testing

/// Cell values on workbooks made for each case: numbers as typed, dates, sparse rows.
@Suite struct XLSXCellTests {
    static let styles = XLSXFixture.styles

    func read(sheet: String, sharedStrings: String? = nil, workbook: String = XLSXFixture.workbook, styles: String = Self.styles) throws -> [SourceRow] {
        try withTemporaryDirectory { dir in
            let path = dir + "/book.xlsx"
            try XLSXFixture.write(path, sheetXML: sheet, sharedStrings: sharedStrings, styles: styles, workbook: workbook)
            return try readRecords(XLSXReader(path: path))
        }
    }

    @Test func numbersReadAsTyped() throws {
        let rows = try read(sheet: worksheetXML("""
        <row r="1"><c r="A1"><v>79001234567</v></c><c r="B1"><v>7.9001234567E10</v></c><c r="C1"><v>79001234567.0</v></c>\
        <c r="D1"><v>12.5</v></c><c r="E1"><v>0.30000000000000004</v></c><c r="F1"><v>-42</v></c><c r="G1" s="5"><v>1234.5</v></c>\
        <c r="H1"><v>1E-3</v></c><c r="I1" t="n"><v>100</v></c></row>
        """))
        #expect(rows.first?.cells == ["79001234567", "79001234567", "79001234567", "12.5", "0.3", "-42", "1234.5", "0.001", "100"])
    }

    @Test func datesFromBuiltinAndCustomFormats() throws {
        let rows = try read(sheet: worksheetXML("""
        <row r="1"><c r="A1" s="1"><v>45306</v></c><c r="B1" s="2"><v>45306.4375</v></c><c r="C1" s="3"><v>45306.5</v></c>\
        <c r="D1" s="4"><v>45306</v></c><c r="E1" s="1"><v>60</v></c><c r="F1" s="1"><v>1</v></c><c r="G1" s="1"><v>61</v></c>\
        <c r="H1" t="d"><v>2024-01-15T10:30:00Z</v></c><c r="I1" s="2"><v>45306.999999</v></c></row>
        """))
        #expect(rows.first?.cells == [
            "2024-01-15", "2024-01-15 10:30:00", "2024-01-15 12:00:00", "2024-01-15", "1900-02-29", "1900-01-01", "1900-03-01",
            "2024-01-15 10:30:00", "2024-01-16 00:00:00",
        ])
    }

    /// Times of day and elapsed times (`[h]:mm:ss`, hours past 24 and past 99), and dates at
    /// the ends of the range Excel shows.
    @Test func timesAndElapsedTimes() throws {
        let styles = Self.styles.replacingOccurrences(
            of: #"<cellXfs count="6"><xf numFmtId="0"/>"#, with: #"<cellXfs count="8"><xf numFmtId="0"/><xf numFmtId="21"/><xf numFmtId="46"/>"#)
        let rows = try read(sheet: worksheetXML("""
        <row r="1"><c r="A1" s="1"><v>0.75</v></c><c r="B1" s="1"><v>0.0000115740740740741</v></c><c r="C1" s="2"><v>1.5</v></c>        <c r="D1" s="2"><v>120.25</v></c><c r="E1" s="3"><v>2958465.99999</v></c><c r="F1" s="3"><v>1</v></c></row>
        """), styles: styles)
        #expect(rows.first?.cells == ["18:00:00", "00:00:01", "36:00:00", "2886:00:00", "9999-12-31", "1900-01-01"])
    }

    @Test func date1904System() throws {
        let workbook = XLSXFixture.workbook.replacingOccurrences(of: "<sheets>", with: #"<workbookPr date1904="1"/><sheets>"#)
        let rows = try read(sheet: worksheetXML(#"<row r="1"><c r="A1" s="1"><v>0</v></c><c r="B1" s="1"><v>43844</v></c></row>"#), workbook: workbook)
        #expect(rows.first?.cells == ["1904-01-01", "2024-01-15"])
    }

    @Test func stringsBooleansAndErrors() throws {
        let sst = """
        <sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="9999999999" uniqueCount="4000000000">\
        <si><t>plain</t></si><si><r><t>rich </t></r><r><rPr><b/></rPr><t xml:space="preserve">text</t></r></si>\
        <si><t>tab_x0009_here and _x005F_x0041_</t></si><si/></sst>
        """
        let rows = try read(sheet: worksheetXML("""
        <row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c><c r="D1" t="s"><v>3</v></c>\
        <c r="E1" t="b"><v>1</v></c><c r="F1" t="b"><v>0</v></c><c r="G1" t="e"><v>#N/A</v></c><c r="H1" t="str"><f>A1</f><v>plain</v></c>\
        <c r="I1" t="inlineStr"><is><t><![CDATA[<cdata>]]></t></is></c><c r="J1"><f>1/0</f></c></row>
        """), sharedStrings: sst)
        // The formula cell without a value (J1) is empty and, last in its row, not stored.
        #expect(rows.first?.cells == ["plain", "rich text", "tab\there and _x0041_", "", "TRUE", "FALSE", "#N/A", "plain", "<cdata>"])
    }

    @Test func sparseRowsAndMissingReferences() throws {
        let rows = try read(sheet: worksheetXML("""
        <row r="2"><c r="C2" t="inlineStr"><is><t>c</t></is></c></row>\
        <row><c t="inlineStr"><is><t>a</t></is></c><c t="inlineStr"><is><t>b</t></is></c><c r="E3" t="inlineStr"><is><t>e</t></is></c></row>\
        <row r="7"><c r="b7"><v>5</v></c></row>
        """, before: #"<dimension ref="A1:ZZZ99999999"/>"#))
        #expect(rows.map(\.number) == [2, 3, 7])
        // The first row is the header, three columns wide: E3 lies past it, is not stored, and
        // its row says so.
        #expect(rows.map(\.cells) == [["", "", "c"], ["a", "b"], ["", "5"]])
        #expect(rows.map(\.problem) == [nil, "has a value in column E beyond the last header column C", nil])
    }

    @Test func namespacePrefixesAndStrictNamespace() throws {
        let sheet = """
        <x:worksheet xmlns:x="http://purl.oclc.org/ooxml/spreadsheetml/main"><x:sheetData><x:row r="1">\
        <x:c r="A1" t="inlineStr"><x:is><x:t>prefixed</x:t></x:is></x:c><x:c r="B1"><x:v>3</x:v></x:c></x:row></x:sheetData></x:worksheet>
        """
        let rows = try read(sheet: sheet)
        #expect(rows.first?.cells == ["prefixed", "3"])
    }

    /// Names are matched without namespace processing, so a namespace declaration on a cell
    /// (legal XML, if unusual) must not pass for its `r` or `t` attribute.
    @Test func namespaceDeclarationsAreNotAttributes() throws {
        let rows = try read(sheet: worksheetXML("""
        <row r="1"><c xmlns:r="urn:x" xmlns:t="urn:y" r="B1" t="inlineStr"><is><t>b</t></is></c>        <c xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" r="D1"><v>4</v></c></row>
        """))
        #expect(rows.first?.cells == ["", "b", "", "4"])
    }
}
