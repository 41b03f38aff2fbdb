import Foundation
import IntakeImport
import IntakeRead
import IntakeTestSupport
import Testing

/// A result workbook sent back as it is, after a partner fixed a rejected row in a spreadsheet
/// (openpyxl here, which loads and saves the whole package the way a spreadsheet does): its
/// Rejected sheet is read, the `error` column is not data, and the rows that are still wrong are
/// rejected again for the same reasons.
@Suite(.enabled(if: TestPaths.pythonHas("openpyxl"), "needs the test venv with openpyxl (make test makes it)"))
struct SendBackTests {
    static let csv = """
        external_id,email,name,phone,created_at,city
        A-1,a@example.com,Ann,+79001234567,2018-01-01 00:11:22,Omsk
        B-2,not-an-email,Bob,,,Boston
        C-3,c@example.com,Cid,12,,Kazan
        D-4,d@example.com,Dee,,2023-02-30,Perm

        """

    /// Opens `source` with openpyxl, sets the email of the row whose external_id is `id` on the
    /// Rejected sheet, optionally drops the custom document properties (as a spreadsheet that does
    /// not keep them would), and saves it as `target`.
    func fix(_ source: String, id: String, email: String, to target: String, dropProperties: Bool = false) throws {
        let script = """
            import sys, openpyxl
            from openpyxl.packaging.custom import CustomPropertyList
            source, target, key, email, drop = sys.argv[1:6]
            wb = openpyxl.load_workbook(source)
            ws = wb["Rejected"]
            header = [c.value for c in ws[1]]
            for row in ws.iter_rows(min_row=2):
                if row[header.index("external_id")].value == key:
                    row[header.index("email")].value = email
            if drop == "1":
                wb.custom_doc_props = CustomPropertyList()
            wb.active = 0
            wb.save(target)
            """
        let run = try runChild(TestPaths.python, ["-c", script, source, target, id, email, dropProperties ? "1" : "0"])
        #expect(run.status == 0, "openpyxl: \(run.stderr)")
    }

    /// The message per external_id on the Rows sheet.
    func messages(_ result: String) throws -> [String: String] {
        Dictionary(try sheet(result, "Rows").dropFirst().map { ($0[1], $0[2] + ": " + $0[3]) }, uniquingKeysWith: { a, _ in a })
    }

    @Test func aFixedRowComesBackAndTheRestAreRejectedAgain() throws {
        try withImportEnvironment { env in
            let first = try env.importText(Self.csv, name: "customers.csv")
            #expect((first.record.created, first.record.rejected) == (1, 3))
            #expect(try zipEntryNames(first.resultPath).contains("docProps/custom.xml"), "the result workbook carries its mark")

            let sentBack = env.scratch + "/customers.import-\(first.importID).result.xlsx"
            try fix(first.resultPath, id: "B-2", email: "bob@example.com", to: sentBack)
            #expect(try zipEntryNames(sentBack).contains("docProps/custom.xml"), "openpyxl keeps the mark")

            let second = try env.importFile(sentBack)
            #expect((second.record.rowsRead, second.record.created, second.record.rejected) == (3, 1, 2))
            let before = try messages(first.resultPath)
            let after = try messages(second.resultPath)
            #expect(after["B-2"] == "created: ")
            #expect(after["C-3"] == before["C-3"] && after["D-4"] == before["D-4"], "the same reasons: \(after)")
            // The error column is not a custom attribute; the partner's own columns are.
            #expect(try env.customers().map { $0[0] } == ["A-1", "B-2"])
            #expect(try env.customers().last?[5] == #"{"city":"Boston"}"#)

            let facts = try summary(second.resultPath)
            #expect(facts["Sheet read"] == "Rejected")
            #expect(facts["Note"]?.contains("read from the Rejected sheet of an Intake result workbook sent back") == true)
            // The second result can go back too: its Rejected sheet has the two rows, once.
            #expect(try sheet(second.resultPath, "Rejected").map { $0.first ?? "" } == ["external_id", "C-3", "D-4"])
        }
    }

    @Test func aResultThatLostItsMarkIsRefusedWithWhatToDo() throws {
        try withImportEnvironment { env in
            let first = try env.importText(Self.csv, name: "customers.csv")
            let unmarked = env.scratch + "/unmarked.xlsx"
            try fix(first.resultPath, id: "B-2", email: "bob@example.com", to: unmarked, dropProperties: true)
            let again = try env.importFile(unmarked)
            #expect(again.fileError?.contains("lost the mark Intake writes into it") == true, "\(again.fileError ?? "")")
            #expect(try env.customers().map { $0[0] } == ["A-1"])
        }
    }

    @Test func aPartnerSheetSettingDoesNotStopAResultComingBack() throws {
        try withImportEnvironment { env in
            let first = try env.importText(Self.csv, name: "customers.csv")
            var options = ReadOptions()
            options.sheet = "Data"
            let again = try env.importFile(first.resultPath, options: options)
            #expect(again.fileError == nil && again.record.rejected == 3, "\(again.fileError ?? "")")
        }
    }

    @Test func aResultWithNothingRejectedSaysThereIsNothingToSendBack() throws {
        try withImportEnvironment { env in
            let first = try env.importText("external_id,email,name,phone,created_at\nA-1,a@example.com,Ann,,\n", name: "fine.csv")
            let again = try env.importFile(first.resultPath)
            #expect(again.fileError?.contains("is an Intake result workbook with no rows on its Rejected sheet") == true)
        }
    }

    @Test func aWorkbookThatOnlyLooksLikeAResultIsReadAsUsual() throws {
        // A partner's own workbook with an "error" column and no Intake sheets keeps the column.
        try withImportEnvironment { env in
            let path = env.scratch + "/own.xlsx"
            let script = """
                import sys, openpyxl
                wb = openpyxl.Workbook(); ws = wb.active; ws.title = "Data"
                ws.append(["external_id", "email", "name", "phone", "created_at", "error"])
                ws.append(["E-1", "e@example.com", "Eve", None, None, "none"])
                wb.save(sys.argv[1])
                """
            #expect(try runChild(TestPaths.python, ["-c", script, path]).status == 0)
            let outcome = try env.importFile(path)
            #expect(outcome.record.created == 1)
            #expect(try env.customers().first?[5] == #"{"error":"none"}"#)
        }
    }
}
