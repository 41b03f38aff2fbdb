import CSQLite
@testable import IntakeStore
import IntakeTestSupport
import Testing

/// A database written by an earlier version is brought up to date on open, keeping its meaning.
@Suite struct MigrationTests {
    /// Version 3 logged creations in `customer_changes`; version 4 drops those rows (the customer
    /// rows say who created them) and marks imports whose undo data was already pruned.
    @Test func version3DatabaseMigratesToCreationsWithoutChangeRows() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/old.sqlite"
            do {
                // Build a version-3 database by hand, as that release left it.
                var handle: OpaquePointer?
                #expect(sqlite3_open(path, &handle) == SQLITE_OK)
                defer { sqlite3_close(handle) }
                let sql = Schema.migrations.prefix(3).joined(separator: ";\n") + """
                    ;
                    PRAGMA user_version = 3;
                    INSERT INTO imports (id, partner, file_name, sha256, size, status, rows_created, rows_updated, started_at, finished_at)
                    VALUES (1, 'acme', 'a.csv', 'x', 1, 'completed', 1, 0, '2026-01-01 00:00:00', '2026-01-01 00:00:01'),
                           (2, 'acme', 'b.csv', 'y', 1, 'completed', 1, 0, '2026-01-02 00:00:00', '2026-01-02 00:00:01');
                    INSERT INTO customers (partner, external_id, name, created_by_import, updated_by_import, updated_at)
                    VALUES ('acme', 'C-1', 'Ann', 1, 1, '2026-01-01 00:00:01'), ('acme', 'C-2', 'Ben', 2, 2, '2026-01-02 00:00:01');
                    -- import 1's undo data was pruned; import 2 still has its 'created' row
                    INSERT INTO customer_changes (import_id, partner, external_id, action, before, after, changed_at)
                    VALUES (2, 'acme', 'C-2', 'created', NULL, '{"name":"Ben"}', '2026-01-02 00:00:00');
                    """
                #expect(sqlite3_exec(handle, sql, nil, nil, nil) == SQLITE_OK)
            }
            let database = try Database(path: path)
            #expect(try database.scalar("PRAGMA user_version") == Int64(Schema.currentVersion))
            #expect(try database.scalar("SELECT count(*) FROM customer_changes") == 0)
            #expect(try database.cachedStatement("SELECT id, undo_pruned_at FROM imports ORDER BY id").rows()
                    == [["1", "2026-01-01 00:00:01"], ["2", nil]])
            #expect(try database.cachedStatement("SELECT external_id, import_row FROM customers ORDER BY 1").rows() == [["C-1", nil], ["C-2", nil]])
            let history = ImportHistory(database: database)
            #expect(throws: ImportHistory.Refusal.self) { try history.undo(1, force: false, now: "2026-02-01 00:00:00") }
            #expect(try history.undo(2, force: false, now: "2026-02-01 00:00:00") == ImportHistory.UndoReport(removed: ["C-2"]))
            let entries = try history.history(partner: "acme", externalID: "C-2")
            #expect(entries.map(\.action.rawValue) == ["created", "undone"])
            #expect(entries[0].values == #"{"email":null,"name":"Ben","phone":null,"created_at":null,"custom_attributes":{}}"#)
        }
    }

    /// A new database gets Intake's page size; one made elsewhere keeps its own and still works.
    @Test func newDatabasesGetLargePagesAndOldOnesKeepTheirs() throws {
        try withTemporaryDirectory { dir in
            let fresh = try Database(path: dir + "/new.sqlite")
            #expect(try fresh.scalar("PRAGMA page_size") == Int64(Database.newDatabasePageSize))

            let path = dir + "/old.sqlite"
            do {
                var handle: OpaquePointer?
                #expect(sqlite3_open(path, &handle) == SQLITE_OK)
                defer { sqlite3_close(handle) }
                #expect(sqlite3_exec(handle, "PRAGMA page_size = 4096; CREATE TABLE t (x)", nil, nil, nil) == SQLITE_OK)
            }
            let old = try Database(path: path)
            #expect(try old.scalar("PRAGMA page_size") == 4096)
            #expect(try old.scalar("PRAGMA user_version") == Int64(Schema.currentVersion))
            #expect(try old.scalar("SELECT count(*) FROM customers") == 0)
        }
    }

    /// A newer Intake's database is refused, not written without what the newer one keeps.
    @Test func aDatabaseOfANewerIntakeIsRefused() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/newer.sqlite"
            try Database(path: path).execute("PRAGMA user_version = \(Schema.currentVersion + 1)")
            let error = try #require(throws: SQLiteError.self) { try Database(path: path) }
            #expect(error.message.contains("newer than this Intake's"), "\(error)")
        }
    }
}
