import Foundation
import IntakeStore
import IntakeTestSupport
import Testing

/// `intake import`, `export` and `imports` as a user runs them.
@Suite struct CLITests {
    /// The same commands on either store: `--db postgres://…` selects PostgreSQL.
    @Test(arguments: StoreKind.allCases) func importExportAndHistory(_ kind: StoreKind) throws {
        try withTemporaryDirectory { dir in
            let root = dir + "/var"
            let storage = kind == .postgres ? ["--root", root, "--db", try PostgresServer.shared().newDatabase()] : ["--root", root]
            let file = dir + "/list.csv"
            try writeFile(file, "external_id;email;name;phone;created_at;Город\r\nC-1;a@example.com;Анна;+7 900 000-00-01;2018-01-01 00:11:22;Москва\r\nC-2;bad;Борис;;;\r\n")
            let imported = try runChild(TestPaths.intake, ["import", file, "--partner", "shop-1"] + storage)
            #expect(imported.status == 0, "\(imported.stderr)")
            #expect(imported.stdout.hasPrefix("import 1: 2 rows: 1 created, 0 updated, 0 unchanged, 1 rejected\n"))
            let resultPath = root + "/partners/shop-1/outbox/list.import-1.result.xlsx"
            #expect(imported.stdout.contains("result: \(resultPath)"))
            #expect(FileManager.default.fileExists(atPath: resultPath))

            let exported = try runChild(TestPaths.intake, ["export", "--partner", "shop-1"] + storage)
            #expect(exported.status == 0)
            #expect(exported.stdout == #"{"external_id":"C-1","email":"a@example.com","name":"Анна","phone":"+79000000001","created_at":"2018-01-01 00:11:22","custom_attributes":{"Город":"Москва"}}"# + "\n")
            let other = try runChild(TestPaths.intake, ["export", "--partner", "shop-2"] + storage)
            #expect(other.stdout.isEmpty, "another partner sees nothing")

            let history = try runChild(TestPaths.intake, ["imports"] + storage)
            #expect(history.stdout.contains("\tshop-1\tlist.csv\tcompleted\tread=2 created=1 updated=0 unchanged=0 rejected=1"))
        }
    }

    @Test func wholeFileRejectionExitsNonZero() throws {
        try withTemporaryDirectory { dir in
            let file = dir + "/wrong.csv"
            try writeFile(file, "id,mail\n1,a@b.co\n")
            let result = try runChild(TestPaths.intake, ["import", file, "--root", dir + "/var"])
            #expect(result.status == 1)
            #expect(result.stdout.contains("rejected: wrong.csv: missing required columns: external_id, email, name, phone, created_at"))
            #expect(FileManager.default.fileExists(atPath: dir + "/var/partners/default/outbox/wrong.import-1.result.xlsx"))
        }
    }

    @Test func badPartnerNameIsRefused() throws {
        try withTemporaryDirectory { dir in
            let result = try runChild(TestPaths.intake, ["import", "x.csv", "--root", dir, "--partner", "../other"])
            #expect(result.status != 0)
            #expect(result.stderr.contains("partner names use letters"))
        }
    }
}

/// `intake import --mode/--dry-run`, `show`, `history` and `undo` as an operator runs them.
@Suite struct HistoryCLITests {
    @Test(arguments: StoreKind.allCases) func dryRunShowHistoryAndUndo(_ kind: StoreKind) throws {
        try withTemporaryDirectory { dir in
            let root = dir + "/var"
            let storage = kind == .postgres ? ["--root", root, "--db", try PostgresServer.shared().newDatabase()] : ["--root", root]
            let first = dir + "/first.csv", second = dir + "/second.csv"
            try writeFile(first, "external_id,email,name,phone,created_at\nC-1,a@example.com,Ann,,\n")
            try writeFile(second, "external_id,email,name,phone,created_at\nC-1,b@example.com,,,\nC-2,,Bob,,\n")
            func intake(_ arguments: String...) throws -> ChildResult { try runChild(TestPaths.intake, arguments + storage) }

            #expect(try intake("import", first).status == 0)
            let check = try intake("import", second, "--dry-run")
            #expect(check.stdout.contains("1 created, 1 updated, 0 unchanged, 0 rejected (check only: nothing was changed)"))
            #expect(try intake("export").stdout.contains(#""email":"a@example.com""#))
            let real = try intake("import", second, "--mode", "merge")
            #expect(real.stdout.hasPrefix("import 3:"))

            let shown = try intake("show", "3").stdout.split(separator: "\n").reduce(into: [String: String]()) { fields, line in
                let parts = line.split(separator: ":", maxSplits: 1)
                if parts.count == 2 { fields[String(parts[0])] = parts[1].trimmingCharacters(in: .whitespaces) }
            }
            #expect(shown["status"] == "completed" && shown["mode"] == "merge" && shown["updated"] == "1" && shown["created"] == "1")
            #expect(shown["file"] == "second.csv")
            let history = try intake("history", "--partner", "default", "--external-id", "C-1")
            let lines = history.stdout.split(separator: "\n")
            #expect(lines.count == 2)
            #expect(lines[1].contains("\timport 3\tsecond.csv\tupdated\t") && lines[1].contains(#""email":"b@example.com""#))

            let undone = try intake("undo", "3")
            #expect(undone.stdout == "import 3 undone: 1 removed, 1 restored, 0 skipped\n")
            #expect(try intake("export").stdout == #"{"external_id":"C-1","email":"a@example.com","name":"Ann","phone":null,"created_at":null,"custom_attributes":{}}"# + "\n")
            let again = try intake("undo", "3")
            #expect(again.status == 1)
            #expect(again.stdout.contains("undo refused: import 3 was already undone at"))
        }
    }
}
