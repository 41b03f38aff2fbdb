import Foundation
import IntakeImport
import IntakeStore
import IntakeStorePostgres
import IntakeTestSupport
import Logging

/// A data root and an importer on one store, with the store's customers read back as text.
struct StoreUnderTest {
    let kind: StoreKind
    let root: DataRoot
    let importer: Importer
    let customersOf: (String) throws -> [[String?]]
    let count: (String) throws -> Int
    /// Every column of every customer but row_digest (undo clears it), for comparisons around an undo.
    let dump: () throws -> [[String?]]
    let history: any HistoryStore
    /// The rows of a query both stores understand, as text.
    let rows: (String) throws -> [[String?]]
    /// A connection of its own for the HTTP side's reads.
    let reader: () throws -> any ServeReads

    var scratch: String { root.path + "/scratch" }

    @discardableResult
    func importText(_ text: String, name: String = "customers.csv", partner: String = "acme",
                    mode: ImportMode = .merge, dryRun: Bool = false, listUnchanged: Bool = false) throws -> ImportOutcome {
        let path = scratch + "/" + name
        try writeFile(path, text)
        try root.prepare(partner: partner)
        var request = ImportRequest(path: path, partner: partner, outbox: root.outbox(partner))
        request.policy.mode = mode
        request.policy.dryRun = dryRun
        request.policy.listUnchangedRows = listUnchanged
        return try importer.run(request)
    }

    /// `partner`'s customers ordered by external_id: id, email, name, phone, created_at, attributes.
    func customers(_ partner: String = "acme") throws -> [[String?]] { try customersOf(partner) }
}

func withStore<T>(_ kind: StoreKind, _ body: (StoreUnderTest) throws -> T) throws -> T {
    try withTemporaryDirectory { dir in
        let root = DataRoot(dir + "/var")
        try root.prepare()
        try FileManager.default.createDirectory(atPath: root.path + "/scratch", withIntermediateDirectories: true)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        switch kind {
        case .sqlite:
            let database = try Database(path: root.database)
            let statement = """
                SELECT external_id, email, name, phone, created_at, custom_attributes FROM customers
                WHERE partner = ?1 ORDER BY external_id
                """
            return try body(StoreUnderTest(
                kind: kind, root: root, importer: Importer(database: database, logger: logger),
                customersOf: { try database.cachedStatement(statement).rows([.text($0)]) },
                count: { Int(try database.scalar("SELECT count(*) FROM \($0)") ?? -1) },
                // Every column but row_digest, which recognizes a row sent again and is not a
                // value of the customer (undo clears it).
                dump: { try database.cachedStatement("SELECT \(customerColumns) FROM customers ORDER BY partner, external_id").rows() },
                history: ImportHistory(database: database),
                rows: { try database.cachedStatement($0).rows() },
                reader: { try Database(path: root.database) }))
        case .postgres:
            let url = try PostgresServer.shared().newDatabase()
            let store = try PostgresImportStore(url: url)
            let connection = store.connection
            return try body(StoreUnderTest(
                kind: kind, root: root, importer: Importer(store: store, logger: logger),
                customersOf: {
                    try connection.query("""
                        SELECT external_id, email, name, phone, created_at, custom_attributes::text FROM customers
                        WHERE partner = $1 ORDER BY external_id
                        """, [$0])
                },
                count: { Int(try connection.scalar("SELECT count(*) FROM \($0)") ?? "") ?? -1 },
                dump: {
                    try connection.query("""
                        SELECT partner, external_id, email, name, phone, created_at, custom_attributes::text, created_by_import,
                               updated_by_import, updated_at, import_row
                        FROM customers ORDER BY partner, external_id
                        """)
                },
                history: PostgresHistory(store: store),
                rows: { try connection.query($0) },
                reader: { try PostgresServeConnection(url: url, busySeconds: 1, migrate: false) }))
        }
    }
}
