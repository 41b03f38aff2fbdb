import Foundation
import IntakeImport
import IntakeRead
import IntakeStore
import IntakeTestSupport
import IntakeValidate
import Testing

/// Import modes, per-partner settings, dry runs, undo and history.
@Suite struct PolicyTests {
    static let header = "external_id,email,name,phone,created_at,city,tier\n"
    static let base = header + "C-1,a@example.com,Ann,,2018-01-01 00:00:00,Riga,gold\nC-2,,Ben,,,Oslo,\n"
    static let file = header + "C-1,,Ann B,12345,,,platinum\nC-3,,Cy,,,,\n"

    func policy(_ mode: ImportMode, listUnchanged: Bool = false) -> ImportPolicy {
        var p = ImportPolicy()
        p.mode = mode
        p.listUnchangedRows = listUnchanged
        return p
    }

    @Test(arguments: [
        (ImportMode.merge, ["updated", "created"], [
            ["C-1", "a@example.com", "Ann B", "12345", "2018-01-01 00:00:00", #"{"city":"Riga","tier":"platinum"}"#],
            ["C-2", nil, "Ben", nil, nil, #"{"city":"Oslo"}"#], ["C-3", nil, "Cy", nil, nil, "{}"],
        ]),
        (.replace, ["updated", "created"], [
            ["C-1", nil, "Ann B", "12345", nil, #"{"tier":"platinum"}"#],
            ["C-2", nil, "Ben", nil, nil, #"{"city":"Oslo"}"#], ["C-3", nil, "Cy", nil, nil, "{}"],
        ]),
        (.skipExisting, ["skipped", "created"], [
            ["C-1", "a@example.com", "Ann", nil, "2018-01-01 00:00:00", #"{"city":"Riga","tier":"gold"}"#],
            ["C-2", nil, "Ben", nil, nil, #"{"city":"Oslo"}"#], ["C-3", nil, "Cy", nil, nil, "{}"],
        ]),
        (.createOnly, ["rejected", "created"], [
            ["C-1", "a@example.com", "Ann", nil, "2018-01-01 00:00:00", #"{"city":"Riga","tier":"gold"}"#],
            ["C-2", nil, "Ben", nil, nil, #"{"city":"Oslo"}"#], ["C-3", nil, "Cy", nil, nil, "{}"],
        ]),
        (.updateOnly, ["updated", "rejected"], [
            ["C-1", "a@example.com", "Ann B", "12345", "2018-01-01 00:00:00", #"{"city":"Riga","tier":"platinum"}"#],
            ["C-2", nil, "Ben", nil, nil, #"{"city":"Oslo"}"#],
        ]),
    ] as [(ImportMode, [String], [[String?]])])
    func modes(_ mode: ImportMode, _ statuses: [String], _ state: [[String?]]) throws {
        try withImportEnvironment { env in
            _ = try env.importText(Self.base)
            let outcome = try env.importText(Self.file, name: "second.csv", policy: policy(mode))
            let rows = try sheet(outcome.resultPath, "Rows").dropFirst()
            let readStatuses = rows.map { row in row[2] }
            let messages = rows.map { row in row[3] }
            #expect(readStatuses == statuses)
            #expect(try env.customers() == state)
            if mode == .createOnly { #expect(messages[0] == "already exists (create-only): external_id C-1") }
            if mode == .updateOnly { #expect(messages[1] == "not found (update-only): no customer with external_id C-3") }
            if mode == .skipExisting { #expect(try summary(outcome.resultPath)["Skipped"] == "1") }
        }
    }

    @Test func russianHeadersAndLocalDatesThroughSettings() throws {
        let settings = try Settings.parse("""
        defaults:
          mode: merge
        partners:
          acme:
            columns:
              "ID клиента": external_id
              "E-mail": email
              "ФИО": name
              "Телефон": phone
              "Дата регистрации": created_at
              "Город": city
            created_at:
              formats: ["DD.MM.YYYY HH:mm", "DD.MM.YYYY"]
              time_zone: Europe/Moscow
        """)
        let (policy, _) = try settings.forPartner("acme").policy()
        try withImportEnvironment { env in
            let text = "ID клиента;E-mail;ФИО;Телефон;Дата регистрации;Город\n"
                + "77;ivan@пример.рф;Иван Петров;+7 900 111-22-33;15.01.2024 10:30;Москва\n"
                + "78;;Анна;;01.07.2023;Казань\n"
                + "79;;Ольга;;2024-03-01T12:00:00Z;Тверь\n"
                + "80;;Пётр;;31.02.2024;Омск\n"
            let cp1251 = try #require(text.data(using: .windowsCP1251))
            let path = env.scratch + "/выгрузка.csv"
            try writeFile(path, [UInt8](cp1251))
            try env.root.prepare(partner: "acme")
            var request = ImportRequest(path: path, partner: "acme", outbox: env.outbox())
            request.policy = policy
            let outcome = try env.importer.run(request)
            #expect(outcome.record.encoding == "windows-1251")
            #expect(try env.customers() == [
                ["77", "ivan@пример.рф", "Иван Петров", "+79001112233", "2024-01-15 07:30:00", #"{"city":"Москва"}"#],
                ["78", nil, "Анна", nil, "2023-06-30 21:00:00", #"{"city":"Казань"}"#],
                ["79", nil, "Ольга", nil, "2024-03-01 12:00:00", #"{"city":"Тверь"}"#],
            ])
            let rows = try sheet(outcome.resultPath, "Rows")
            #expect(rows.last?[3] == #"created_at "31.02.2024" is not a real date: 2024-02 has 29 days"#)
        }
    }

    @Test func dryRunChangesNothing() throws {
        try withImportEnvironment { env in
            _ = try env.importText(Self.base)
            let before = try env.dumpCustomers()
            var check = ImportPolicy()
            check.dryRun = true
            let outcome = try env.importText(Self.file + "C-4,bad-email,Dee,,,,\n", name: "check.csv", policy: check)
            #expect(try env.dumpCustomers() == before, "customers byte-for-byte unchanged")
            #expect(outcome.record.status == .checked)
            #expect((outcome.record.created, outcome.record.updated, outcome.record.rejected) == (1, 1, 1))
            let facts = try summary(outcome.resultPath)
            #expect(facts["Note"] == "check only: nothing was changed")
            #expect(facts["Created"] == "1")
            #expect(try sheet(outcome.resultPath, "Rows").dropFirst().map { $0[2] } == ["updated", "created", "rejected"])
            #expect(try env.database.scalar("SELECT count(*) FROM customer_changes WHERE import_id = ?1", [.integer(outcome.importID)]) == 0)
            #expect(try ImportLog(database: env.database).find(outcome.importID)?.status == .checked)
        }
    }

    @Test func undoCreatedUpdatedAndMixed() throws {
        try withImportEnvironment { env in
            let empty = try env.dumpCustomers(includingDigest: false)
            let first = try env.importText(Self.base)
            let afterFirst = try env.dumpCustomers(includingDigest: false)
            let mixed = try env.importText(Self.file, name: "mixed.csv")
            #expect((mixed.record.created, mixed.record.updated) == (1, 1))

            let history = ImportHistory(database: env.database)
            let report = try history.undo(mixed.importID, force: false, now: "2030-01-01 00:00:00")
            #expect(report == ImportHistory.UndoReport(removed: ["C-3"], restored: ["C-1"], skipped: []))
            #expect(try env.dumpCustomers(includingDigest: false) == afterFirst, "the earlier state, exactly")
            #expect(throws: ImportHistory.Refusal.self) { try history.undo(mixed.importID, force: false, now: "2030-01-01 00:00:01") }

            let created = try history.undo(first.importID, force: false, now: "2030-01-01 00:00:02")
            #expect(created.removed.sorted() == ["C-1", "C-2"])
            #expect(try env.dumpCustomers(includingDigest: false) == empty)

            let entries = try history.history(partner: "acme", externalID: "C-1")
            #expect(entries.map(\.action.rawValue) == ["created", "updated", "undone", "undone"])
            #expect(entries.map(\.importID) == [first.importID, mixed.importID, mixed.importID, first.importID])
            #expect(entries[0].values == #"{"email":"a@example.com","name":"Ann","phone":null,"created_at":"2018-01-01 00:00:00","custom_attributes":{"city":"Riga","tier":"gold"}}"#)
            #expect(entries[1].values == #"{"email":"a@example.com","name":"Ann B","phone":"12345","created_at":"2018-01-01 00:00:00","custom_attributes":{"city":"Riga","tier":"platinum"}}"#)
            #expect(entries.last?.values == nil)
        }
    }

    /// A file that repeats external_ids, in every mode: the first row of an id counts, later ones
    /// are rejected naming it, whether the first row wrote the customer (created, updated) or left
    /// it as it was (unchanged, skipped, refused), and even when the repeat would change it.
    @Test(arguments: [
        (ImportMode.merge, ["unchanged", "dup 2", "created", "dup 4", "updated", "dup 6", "created", "dup 8"]),
        (.replace, ["unchanged", "dup 2", "created", "dup 4", "updated", "dup 6", "created", "dup 8"]),
        (.skipExisting, ["skipped", "dup 2", "created", "dup 4", "skipped", "dup 6", "created", "dup 8"]),
        (.createOnly, ["rejected", "dup 2", "created", "dup 4", "rejected", "dup 6", "created", "dup 8"]),
        (.updateOnly, ["unchanged", "dup 2", "rejected", "dup 4", "updated", "dup 6", "rejected", "dup 8"]),
    ] as [(ImportMode, [String])])
    func repeatedIDs(_ mode: ImportMode, _ expected: [String]) throws {
        try withImportEnvironment { env in
            _ = try env.importText(Self.base)
            let before = try env.customers()
            let outcome = try env.importText(Self.header + """
                C-1,a@example.com,Ann,,2018-01-01 00:00:00,Riga,gold
                C-1,a@example.com,Ann Changed,,,,
                C-9,,Nine,,,,
                C-9,,Nine Again,,,,
                C-2,,Ben B,,,,
                C-2,,Ben C,,,,
                C-8,,Eight,,,,
                C-8,,Eight,,,,

                """, name: "repeats.csv", policy: policy(mode, listUnchanged: true))
            let rows = try sheet(outcome.resultPath, "Rows").dropFirst()
            let got = rows.map { row in
                row[3].hasPrefix("duplicate external_id, first seen at row ") ? "dup " + row[3].dropFirst(41) : row[2]
            }
            #expect(got == expected)
            let customers = try env.customers()
            #expect(customers.first { $0[0] == "C-1" } == before.first { $0[0] == "C-1" }, "a repeat never applies")
            if mode == .merge {
                #expect(customers.first { $0[0] == "C-2" }?[2] == "Ben B")
                #expect(customers.first { $0[0] == "C-9" }?[2] == "Nine")
                let provenance = try env.database.cachedStatement("""
                    SELECT external_id, import_row FROM customers WHERE updated_by_import = ?1 ORDER BY external_id
                    """).rows([.integer(outcome.importID)])
                #expect(provenance == [["C-2", "6"], ["C-8", "8"], ["C-9", "4"]])
            }
        }
    }

    /// The importer's own writes skip the json_valid CHECK (their JSON is built to be valid); once
    /// a file is done, also one that failed part-way, the same connection enforces CHECKs again.
    @Test func checkConstraintsHoldAgainAfterAnImport() throws {
        try withImportEnvironment { env in
            _ = try env.importText(Self.base)
            var limited = ImportPolicy()
            limited.maxRows = 1
            #expect(try env.importText(Self.file, name: "too-long.csv", policy: limited).fileError != nil)
            #expect(throws: SQLiteError.self) {
                try env.database.execute("UPDATE customers SET custom_attributes = 'not json' WHERE external_id = 'C-1'")
            }
            #expect(try env.database.scalar("SELECT count(*) FROM customers WHERE NOT json_valid(custom_attributes)") == 0)
        }
    }

    /// After the retention time an import can no longer be undone, and history says which values
    /// it no longer knows.
    @Test func prunedUndoDataIsRefusedAndHistoryStillShowsCreations() throws {
        try withImportEnvironment { env in
            let first = try env.importText(Self.base)
            let second = try env.importText(Self.file, name: "mixed.csv")
            let history = ImportHistory(database: env.database)
            #expect(try history.prune(partner: "acme", finishedBefore: "2999-01-01 00:00:00", now: "2030-01-02 00:00:00") == 2)
            #expect(try history.prune(partner: "acme", finishedBefore: "2999-01-01 00:00:00", now: "2030-01-03 00:00:00") == 0)
            #expect(try env.database.scalar("SELECT count(*) FROM customer_changes") == 0)
            for id in [first.importID, second.importID] {
                do {
                    _ = try history.undo(id, force: true, now: "2030-01-04 00:00:00")
                    Issue.record("undo of a pruned import should be refused")
                } catch let refusal as ImportHistory.Refusal {
                    #expect(refusal.message == "the undo data of import \(id) was pruned at 2030-01-02 00:00:00 UTC after its retention time; it can no longer be undone")
                }
            }
            // C-2 was never changed: its created values are its values now. C-1 was changed by
            // the second import, whose before-values were pruned.
            let untouched = try history.history(partner: "acme", externalID: "C-2")
            #expect(untouched.map(\.action.rawValue) == ["created"] && untouched[0].importID == first.importID)
            #expect(untouched[0].values == #"{"email":null,"name":"Ben","phone":null,"created_at":null,"custom_attributes":{"city":"Oslo"}}"#)
            let changed = try history.history(partner: "acme", externalID: "C-1")
            #expect(changed.map(\.action.rawValue) == ["created"] && changed[0].values == nil)
        }
    }

    @Test func undoRefusedWhenALaterImportTouchedTheSameCustomers() throws {
        try withImportEnvironment { env in
            let first = try env.importText(Self.base)
            _ = try env.importText(Self.header + "C-1,,Ann Later,,,,\n", name: "later.csv")
            let history = ImportHistory(database: env.database)
            do {
                _ = try history.undo(first.importID, force: false, now: "2030-01-01 00:00:00")
                Issue.record("undo should be refused")
            } catch let refusal as ImportHistory.Refusal {
                #expect(refusal.message.contains("later imports or API writes changed 1 of the customers import \(first.importID) touched (C-1)"))
            }
            let forced = try history.undo(first.importID, force: true, now: "2030-01-01 00:00:00")
            #expect(forced == ImportHistory.UndoReport(removed: ["C-2"], restored: [], skipped: ["C-1"]))
            #expect(try env.customers().map { $0[0] } == ["C-1"])
            #expect(try ImportLog(database: env.database).find(first.importID)?.undoneAt == "2030-01-01 00:00:00")
        }
    }

    @Test func limitsRejectTheFileNamingTheLimit() throws {
        try withImportEnvironment { env in
            var rows = ImportPolicy()
            rows.maxRows = 1
            let tooMany = try env.importText(Self.base, policy: rows)
            #expect(tooMany.fileError?.contains("more than 1 data rows, over this partner's limit (max_rows)") == true)
            var bytes = ImportPolicy()
            bytes.maxBytes = 10
            let tooBig = try env.importText(Self.base, name: "big.csv", policy: bytes)
            #expect(tooBig.fileError?.contains("over this partner's limit of 10 bytes (max_bytes)") == true)
            #expect(try summary(tooBig.resultPath)["Error"]?.contains("max_bytes") == true)
            #expect(try env.customers().isEmpty)
        }
    }

    @Test func settingsErrorsNameTheLine() {
        let cases: [(String, Int, String)] = [
            ("defaults:\n  mode: merge\npartners:\n  acme:\n    mode: sideways\n", 5, "mode must be one of"),
            ("defaults:\n  limits:\n    max_rows: -3\n", 3, "must be a positive number"),
            ("partners:\n  acme:\n    created_at:\n      time_zone: Mars/Olympus\n", 4, "is not a known IANA zone"),
            ("defaults:\n  mode: merge\n   bad: indent\n", 0, "not valid YAML"),
            ("defaults:\n  colour: blue\n", 2, "unknown setting 'colour'"),
            // Numbers that would trap when converted are refused, not crash the service.
            ("defaults:\n  limits:\n    max_rows: 1e300\n", 3, "must be a positive number"),
            ("defaults:\n  limits:\n    max_bytes: .inf\n", 3, "must be a positive number"),
            ("defaults:\n  settle_seconds: 1e300\n", 2, "settle_seconds must be a number"),
        ]
        for (text, line, message) in cases {
            do {
                _ = try Settings.parse(text)
                Issue.record("accepted: \(text)")
            } catch {
                // 0: a syntax error, whose line is wherever the YAML scanner noticed it.
                if line == 0 { #expect(error.line != nil, "\(error)") } else { #expect(error.line == line, "\(error)") }
                #expect(error.message.contains(message), "\(error)")
            }
        }
    }
}
