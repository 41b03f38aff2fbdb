import Foundation
import IntakeRead
import IntakeStore
import IntakeTestSupport
import Testing

/// Settings in the running service: per-partner mode, SIGHUP reload, an invalid file on reload,
/// and dry runs through `inbox/check/`.
@Suite struct SettingsReloadTests {
    @Test func invalidReloadKeepsTheOldSettingsAndTheServiceRuns() throws {
        try withDaemonRoot { root in
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            let config = root + "/settings.yaml"
            try "partners:\n  acme:\n    mode: create-only\n".write(toFile: config, atomically: true, encoding: .utf8)
            let daemon = Daemon(root: root)
            try daemon.addPartner("acme")
            try daemon.start()
            defer { daemon.stop() }
            try drop(customersCSV(prefix: "K", count: 2), into: daemon.inbox("acme"), as: "one.csv")
            try daemon.waitForResult("acme", "one")

            // Broken on line 3; SIGHUP; the error names the line and create-only stays in force.
            try "partners:\n  acme:\n    mode: [oops\n".write(toFile: config, atomically: true, encoding: .utf8)
            kill(daemon.pid, SIGHUP)
            try #require(waitUntil(timeout: 60) { daemon.logText.contains("settings file is invalid; the previous settings stay in force") })
            #expect(daemon.logText.contains("line 3") || daemon.logText.contains("line 4"))
            try drop(customersCSV(prefix: "K", count: 2, name: "Changed"), into: daemon.inbox("acme"), as: "two.csv")
            try daemon.waitForResult("acme", "two")
            let db = try daemon.database()
            #expect(try db.scalar("SELECT rows_rejected FROM imports WHERE file_name = 'two.csv'") == 2, "create-only still applies")
            #expect(try db.scalar("SELECT count(*) FROM customers WHERE name LIKE 'Changed%'") == 0)

            // A valid file on the next SIGHUP takes effect.
            try "partners:\n  acme:\n    mode: merge\n".write(toFile: config, atomically: true, encoding: .utf8)
            kill(daemon.pid, SIGHUP)
            try #require(waitUntil(timeout: 60) { daemon.logText.contains("settings reloaded") })
            try drop(customersCSV(prefix: "K", count: 2, name: "Merged"), into: daemon.inbox("acme"), as: "three.csv")
            try daemon.waitForResult("acme", "three")
            #expect(try db.scalar("SELECT count(*) FROM customers WHERE name LIKE 'Merged%'") == 2)
        }
    }

    @Test func checkFolderIsADryRun() throws {
        try withDaemonRoot { root in
            let daemon = Daemon(root: root)
            try daemon.addPartner("acme")
            try FileManager.default.createDirectory(atPath: daemon.inbox("acme") + "/check", withIntermediateDirectories: true)
            try daemon.start()
            defer { daemon.stop() }
            try drop(customersCSV(prefix: "CHK", count: 3), into: daemon.inbox("acme") + "/check", as: "trial.csv")
            let result = try daemon.waitForResult("acme", "trial")
            try daemon.waitForDone("trial.csv")
            let db = try daemon.database()
            #expect(try db.scalar("SELECT count(*) FROM customers") == 0, "a check changes nothing")
            #expect(try db.scalar("SELECT count(*) FROM imports WHERE status = 'checked' AND rows_created = 3") == 1)
            #expect(try summary(result)["Note"] == "check only: nothing was changed")
            // The same content dropped for real afterwards is imported, not called a duplicate.
            try drop(customersCSV(prefix: "CHK", count: 3), into: daemon.inbox("acme"), as: "real.csv")
            try daemon.waitForResult("acme", "real")
            #expect(try db.scalar("SELECT count(*) FROM customers") == 3)
        }
    }
}

func summary(_ path: String) throws -> [String: String] {
    var options = IntakeRead.ReadOptions()
    options.sheet = "Summary"
    return Dictionary(try readAllRecords(IntakeRead.XLSXReader(path: path, options: options)).map { ($0.cells[0], $0.cells.count > 1 ? $0.cells[1] : "") },
                      uniquingKeysWith: { a, _ in a })
}
