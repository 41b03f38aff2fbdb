import ArgumentParser
import IntakeImport
import IntakeStore
import IntakeStorePostgres
import IntakeSystem

#if canImport(Glibc)
import Glibc
#endif

/// Where the data lives, shared by the commands that touch the database.
struct StorageOptions: ParsableArguments {
    @Option(help: "The data root (database under state/, outboxes under partners/). Default: $INTAKE_ROOT or ./var.")
    var root: String?

    @Option(help: """
        The SQLite database file, instead of <root>/state/intake.sqlite; or a PostgreSQL URL \
        (postgres://USER@HOST:PORT/DB, with ?sslmode=require for TLS; the password from the URL, \
        PGPASSWORD or ~/.pgpass).
        """)
    var db: String?

    var dataRoot: DataRoot { DataRoot.chosen(root) }

    /// `--db`, else the settings file's `database`, else nil (the data root's SQLite file).
    var chosenDB: String? { db ?? (try? loadSettings(nil, root: dataRoot))?.database }

    var databasePath: String { chosenDB ?? dataRoot.database }

    /// The PostgreSQL URL when the store is a server rather than a file.
    var postgresURL: String? { chosenDB.flatMap(serverAddress(_:)) }

    func openDatabase() throws -> Database {
        if postgresURL != nil {
            throw ValidationError("this command works on the SQLite store only")
        }
        if chosenDB == nil { try dataRoot.prepare() }
        return try Database(path: databasePath)
    }

    /// The store an import writes to: PostgreSQL when `--db` is its URL, else SQLite.
    /// `settingsDatabase` is `database:` of the settings file the command loaded (`--config`),
    /// which `--db` overrides.
    func openImportStore(settingsDatabase: String? = nil) throws -> any ImportStore {
        if db == nil, let chosen = settingsDatabase {
            if let url = serverAddress(chosen) { return try PostgresImportStore(url: url) }
            return SQLiteImportStore(database: try Database(path: chosen))
        }
        if let postgresURL { return try PostgresImportStore(url: postgresURL) }
        return SQLiteImportStore(database: try openDatabase())
    }

    /// API tokens and portal users on the chosen store.
    func openAccounts() throws -> any AccountAdmin {
        if let postgresURL { return PostgresAccounts(store: try PostgresImportStore(url: postgresURL)) }
        return try openDatabase()
    }

    /// Undo and history on the chosen store.
    func openHistory() throws -> any HistoryStore {
        if let postgresURL { return PostgresHistory(store: try PostgresImportStore(url: postgresURL)) }
        return ImportHistory(database: try openDatabase())
    }
}

/// `text` when it names a PostgreSQL server (a URL, or libpq's `host=… dbname=…`) rather than
/// a SQLite file's path.
func serverAddress(_ text: String) -> String? {
    PostgresConnection.isConnectionString(text) ? text : nil
}
