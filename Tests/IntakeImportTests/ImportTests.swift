import Foundation
import IntakeImport
import IntakeRead
import IntakeStore
import IntakeTestSupport
import Testing

/// A file in, rows in SQLite and a result workbook out, checked cell by cell.
@Suite struct ImportTests {
    static let header = "external_id,email,name,phone,created_at,city,tier\n"

    @Test func csvWithGoodAndBadRows() throws {
        try withImportEnvironment { env in
            let csv = Self.header + """
            C-1,Anna@Example.RU,Анна Петрова,+7 (900) 123-45-67,2018-01-01 00:11:22,Москва,gold
            C-2,not-an-email,Bob,,,Boston,
            C-3,,,12,,,
            C-4,,Carol,,2023-02-30,,
            ,x@example.com,No Id,,,,
            C-1,dup@example.com,Again,,,,
            C-5,e@example.com,"Smith, Eve",,2019-06-30T14:05:00+02:00,"=HYPERLINK(""http://x"")",
            C-6,only,two
            C-7,,Dan,,,,silver

            """
            let outcome = try env.importText(csv, name: "customers-2024-05.csv")
            #expect(outcome.fileError == nil)
            #expect(outcome.record.status == .completed)
            #expect(outcome.resultPath == env.outbox() + "/customers-2024-05.import-\(outcome.importID).result.xlsx")
            #expect((outcome.record.rowsRead, outcome.record.created, outcome.record.rejected) == (9, 3, 6))

            #expect(try env.customers() == [
                ["C-1", "Anna@example.ru", "Анна Петрова", "+79001234567", "2018-01-01 00:11:22", #"{"city":"Москва","tier":"gold"}"#],
                ["C-5", "e@example.com", "Smith, Eve", nil, "2019-06-30 12:05:00", #"{"city":"=HYPERLINK(\"http://x\")"}"#],
                ["C-7", nil, "Dan", nil, nil, #"{"tier":"silver"}"#],
            ])

            let rows = try sheet(outcome.resultPath, "Rows")
            #expect(rows == [
                ["row", "external_id", "status", "message"],
                ["2", "C-1", "created", ""],
                ["3", "C-2", "rejected", #"email "not-an-email" is not an email address: it has no @"#],
                ["4", "C-3", "rejected", #"phone "12" is not a phone number: it has 2 digits, a phone number has 5 to 15"#],
                ["5", "C-4", "rejected", #"created_at "2023-02-30" is not a real date: 2023-02 has 28 days"#],
                ["6", "", "rejected", "external_id is empty; every row needs one"],
                ["7", "C-1", "rejected", "duplicate external_id, first seen at row 2"],
                ["8", "C-5", "created", ""],
                ["9", "C-6", "rejected", "row has 3 fields, the header has 7"],
                ["10", "C-7", "created", ""],
            ])
            let rejected = try sheet(outcome.resultPath, "Rejected")
            #expect(rejected.first == ["external_id", "email", "name", "phone", "created_at", "city", "tier", "error"])
            #expect(rejected.count == 7)
            #expect(rejected[1] == ["C-2", "not-an-email", "Bob", "", "", "Boston", "", #"email "not-an-email" is not an email address: it has no @"#])
            #expect(rejected[6] == ["C-6", "only", "two", "", "", "", "", "row has 3 fields, the header has 7"])

            let facts = try summary(outcome.resultPath)
            #expect(facts["Result"] == "3 created, 6 rejected: fix the rows on the Rejected sheet and send this workbook back")
            #expect(facts["Source file"] == "customers-2024-05.csv")
            #expect(facts["Partner"] == "acme")
            #expect(facts["Import"] == String(outcome.importID))
            #expect(facts["Format"] == "csv")
            #expect(facts["Encoding"] == "utf-8")
            #expect(facts["Delimiter"] == ",")
            #expect(facts["Rows read"] == "9")
            #expect(facts["Created"] == "3")
            #expect(facts["Updated"] == "0")
            #expect(facts["Unchanged"] == "0")
            #expect(facts["Rejected"] == "6")
            #expect(facts["Received"]?.hasSuffix(" UTC") == true)

            let history = try #require(try ImportLog(database: env.database).find(outcome.importID))
            #expect(history.fileName == "customers-2024-05.csv")
            #expect(history.size == Int64(csv.utf8.count))
            #expect(history.sha256.count == 64)
            #expect((history.created, history.updated, history.unchanged, history.rejected) == (3, 0, 0, 6))
            #expect(history.resultPath == outcome.resultPath)
        }
    }

    @Test func valuesThatLookLikeFormulasStayText() throws {
        try withImportEnvironment { env in
            let outcome = try env.importText(Self.header + "C-1,bad,=SUM(A1:A9),+7900,@cmd,\"=HYPERLINK(\"\"http://evil\"\")\",-1\n")
            let rejected = try sheet(outcome.resultPath, "Rejected")
            #expect(rejected[1].prefix(7) == ["C-1", "bad", "=SUM(A1:A9)", "+7900", "@cmd", #"=HYPERLINK("http://evil")"#, "-1"])
            // Written as string cells: no formula element anywhere in the sheets.
            for part in ["xl/worksheets/sheet2.xml", "xl/worksheets/sheet3.xml"] {
                let xml = try zipEntry(outcome.resultPath, part)
                #expect(!xml.contains("<f>") && !xml.contains("<f "), "\(part) has a formula")
            }
        }
    }

    @Test func xlsxEndToEnd() throws {
        try withImportEnvironment { env in
            // As Excel stores it: ids and phones as numbers, created_at as a date-formatted number.
            let sheetXML = worksheetXML("""
            <row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c><c r="D1" t="s"><v>3</v></c>\
            <c r="E1" t="s"><v>4</v></c><c r="F1" t="s"><v>5</v></c></row>\
            <row r="2"><c r="A2"><v>100200300</v></c><c r="B2" t="s"><v>6</v></c><c r="C2" t="s"><v>7</v></c><c r="D2"><v>79001234567</v></c>\
            <c r="E2" s="2"><v>43101.0078935185</v></c><c r="F2"><v>12.5</v></c></row>\
            <row r="4"><c r="A4"><v>100200301</v></c><c r="C4" t="inlineStr"><is><t>Без почты</t></is></c><c r="E4" s="1"><v>45306</v></c></row>
            """, before: #"<dimension ref="A1:F2"/>"#)
            let sst = """
            <sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>external_id</t></si><si><t>Email</t></si>\
            <si><t>Name</t></si><si><t>Phone</t></si><si><t>Created_At</t></si><si><t>balance</t></si><si><t>ivan@пример.рф</t></si><si><t>Иван</t></si></sst>
            """
            let path = env.scratch + "/export.xlsx"
            try XLSXFixture.write(path, sheetXML: sheetXML, sharedStrings: sst, styles: XLSXFixture.styles)
            let outcome = try env.importFile(path)
            #expect(outcome.fileError == nil)
            #expect(outcome.record.created == 2)
            #expect(try env.customers() == [
                ["100200300", "ivan@пример.рф", "Иван", "79001234567", "2018-01-01 00:11:22", #"{"balance":"12.5"}"#],
                ["100200301", nil, "Без почты", nil, "2024-01-15 00:00:00", "{}"],
            ])
            let facts = try summary(outcome.resultPath)
            #expect(facts["Format"] == "xlsx")
            #expect(facts["Sheet read"] == "Data")
            #expect(try sheet(outcome.resultPath, "Rows").map { $0[0] } == ["row", "2", "4"])
        }
    }

    @Test func reimportingTheSameFileChangesNothing() throws {
        try withImportEnvironment { env in
            let csv = Self.header + "C-1,a@example.com,Ann,12345,2018-01-01,Riga,gold\nC-2,,Ben,,,,\n"
            try env.importText(csv)
            let before = try env.dumpCustomers()
            let again = try env.importText(csv)
            #expect((again.record.created, again.record.updated, again.record.unchanged) == (0, 0, 2))
            #expect(try env.dumpCustomers() == before)
            // Unchanged rows are counted, not listed (result_rows: changes, the default).
            #expect(try sheet(again.resultPath, "Rows").count == 1)
            let facts = try summary(again.resultPath)
            #expect(facts["Unchanged"] == "2")
            #expect(facts["Note"] == "2 unchanged rows are not listed (result_rows: all lists them)")
        }
    }

    /// `result_rows: all`, from a settings file as the watcher reads it, lists every row.
    @Test func resultRowsAllListsEveryRow() throws {
        try withImportEnvironment { env in
            let csv = Self.header + "C-1,a@example.com,Ann,12345,2018-01-01,Riga,gold\nC-2,,Ben,,,,\nC-3,,,,,,\n"
            try env.importText(csv)
            let settings = try Settings.parse("partners:\n  acme:\n    result_rows: all\n")
            let path = env.scratch + "/again.csv"
            try writeFile(path, csv.replacingOccurrences(of: "Ben", with: "Benny") + "C-4,,Dee,,,,\nbad,not-an-email,,,,,\n")
            var request = ImportRequest(path: path, partner: "acme", outbox: env.outbox())
            (request.policy, request.readOptions) = try settings.forPartner("acme").policy()
            let outcome = try env.importer.run(request)
            let rows = try sheet(outcome.resultPath, "Rows").dropFirst()
            #expect(rows.map { $0[0] } == ["2", "3", "4", "5", "6"])
            #expect(rows.map { $0[2] } == ["unchanged", "updated", "unchanged", "created", "rejected"])
            #expect(try summary(outcome.resultPath)["Note"] == nil)
            #expect(throws: SettingsError.self) { try Settings.parse("defaults:\n  result_rows: some\n") }
        }
    }

    /// The default lists what changed or was refused, in file order, and counts the rest.
    @Test func resultRowsListOnlyChangesByDefault() throws {
        try withImportEnvironment { env in
            var csv = Self.header
            for n in 1...1_500 { csv += "C-\(n),,Name \(n),,,,\n" }
            try env.importText(csv)
            let edited = csv.replacingOccurrences(of: "Name 700,", with: "Name 700b,") + "C-2000,,New,,,,\nC-1,,Again,,,,\n"
            let outcome = try env.importText(edited, name: "again.csv")
            let rows = try sheet(outcome.resultPath, "Rows").dropFirst()
            #expect(rows.map { $0[2] } == ["updated", "created", "rejected"])
            #expect(rows.map { $0[0] } == ["701", "1502", "1503"])
            #expect(try summary(outcome.resultPath)["Note"] == "1,499 unchanged rows are not listed (result_rows: all lists them)")
            #expect((outcome.record.unchanged, outcome.record.updated, outcome.record.created, outcome.record.rejected) == (1_499, 1, 1, 1))
        }
    }

    @Test func editedFileGivesTheRightMix() throws {
        try withImportEnvironment { env in
            try env.importText(Self.header + "C-1,a@example.com,Ann,12345,2018-01-01,Riga,gold\nC-2,b@example.com,Ben,,,Oslo,\nC-3,,Cy,,,,\n")
            let edited = try env.importText(Self.header + """
            C-1,,Ann,,,,platinum
            C-2,b@example.com,Ben,,,Oslo,
            C-3,,,,,,
            C-4,d@example.com,Dee,,,,

            """)
            #expect((edited.record.created, edited.record.updated, edited.record.unchanged) == (1, 1, 2))
            #expect(try sheet(edited.resultPath, "Rows").dropFirst().map { $0[2] } == ["updated", "created"])
            // Empty cells never erase; attributes merge key by key.
            #expect(try env.customers() == [
                ["C-1", "a@example.com", "Ann", "12345", "2018-01-01 00:00:00", #"{"city":"Riga","tier":"platinum"}"#],
                ["C-2", "b@example.com", "Ben", nil, nil, #"{"city":"Oslo"}"#],
                ["C-3", nil, "Cy", nil, nil, "{}"],
                ["C-4", "d@example.com", "Dee", nil, nil, "{}"],
            ])
            let byImport = try env.database.cachedStatement("SELECT external_id, created_by_import, updated_by_import FROM customers ORDER BY external_id").rows()
            let first = String(edited.importID - 1), second = String(edited.importID)
            #expect(byImport == [["C-1", first, second], ["C-2", first, first], ["C-3", first, first], ["C-4", second, second]])
        }
    }

    @Test func partnersAreIsolated() throws {
        try withImportEnvironment { env in
            let a = try env.importText(Self.header + "C-1,a@example.com,Acme's Ann,,,,\n", partner: "acme")
            let b = try env.importText(Self.header + "C-1,b@example.com,Beta's Bob,,,,\n", partner: "beta")
            #expect(b.record.created == 1, "same external_id, other partner: a new customer")
            #expect(try env.customers("acme") == [["C-1", "a@example.com", "Acme's Ann", nil, nil, "{}"]])
            #expect(try env.customers("beta") == [["C-1", "b@example.com", "Beta's Bob", nil, nil, "{}"]])
            #expect(a.resultPath.hasPrefix(env.outbox("acme") + "/"))
            #expect(b.resultPath.hasPrefix(env.outbox("beta") + "/"))
            #expect(try FileManager.default.contentsOfDirectory(atPath: env.outbox("acme")).count == 1)
        }
    }

    @Test(arguments: [
        ("external_id,email,name,city\n1,a@b.co,x,y\n", #"missing required columns: phone, created_at (found: "external_id", "email", "name", "city")"#),
        ("external_id,email,,name,phone,created_at\n1,,,,,\n", "column C has no name"),
        ("external_id,email,name,phone,created_at,Email\n1,,,,,\n", #"the column "Email" appears twice, in columns B and F"#),
        ("external_id,email,name,phone,created_at\n", "line 1: the file has a header but no data rows"),
        ("", "the file is empty"),
        ("external_id,email,name,phone,created_at\n1,,,,\n2,,\"open,,\n3,,,,\n", "line 3: a quoted field opened on this line is never closed"),
    ])
    func wholeFileRejections(_ csv: String, _ reason: String) throws {
        try withImportEnvironment { env in
            let outcome = try env.importText(csv, name: "bad.csv")
            let error = try #require(outcome.fileError)
            #expect(error.hasPrefix("bad.csv: "))
            #expect(error.contains(reason), "\(error)")
            #expect(try env.customers().isEmpty)
            #expect(outcome.record.status == .rejected)
            let facts = try summary(outcome.resultPath)
            #expect(facts["Result"]?.hasPrefix("Rejected, nothing was imported") == true)
            #expect(facts["Error"] == error)
            #expect(try ImportLog(database: env.database).find(outcome.importID)?.error == error)
        }
    }

    @Test func aFileThatBreaksPartWayCommitsNothing() throws {
        try withImportEnvironment { env in
            var csv = Self.header
            for i in 0..<5_000 { csv += "C-\(i),,Name \(i),,,,\n" }
            csv += "C-x,,\"never closed,,,,\n"
            let outcome = try env.importText(csv)
            #expect(outcome.fileError?.contains("line 5002: a quoted field opened on this line is never closed") == true)
            #expect(try env.customers().isEmpty)
            #expect(try env.database.scalar("SELECT count(*) FROM imports WHERE status = 'completed'") == 0)
            #expect(try FileManager.default.contentsOfDirectory(atPath: env.outbox()) == [FileSystemName.base(outcome.resultPath)])
        }
    }

    @Test func rowsContinueOnANewSheetWhenOneIsFull() throws {
        try withImportEnvironment { env in
            env.importer.resultRowsPerSheet = 3
            var csv = Self.header
            for i in 1...7 { csv += "C-\(i),,N\(i),,,,\n" }
            csv += "C-1,,dup,,,,\n"
            let outcome = try env.importText(csv)
            #expect(try sheet(outcome.resultPath, "Rows").map { $0[1] } == ["external_id", "C-1", "C-2", "C-3"])
            #expect(try sheet(outcome.resultPath, "Rows (2)").map { $0[1] } == ["external_id", "C-4", "C-5", "C-6"])
            #expect(try sheet(outcome.resultPath, "Rows (3)").map { $0[1] } == ["external_id", "C-7", "C-1"])
            #expect(try sheet(outcome.resultPath, "Rejected").count == 2)
        }
    }
}

enum FileSystemName {
    static func base(_ path: String) -> String { (path as NSString).lastPathComponent }
}
