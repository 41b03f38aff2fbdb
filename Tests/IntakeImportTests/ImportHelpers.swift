import Foundation
import IntakeImport
import IntakeRead
import IntakeStore
import IntakeTestSupport
import Logging
import Testing

/// A data root with a database and importer, removed after the test.
struct ImportEnvironment {
    let root: DataRoot
    let database: Database
    let importer: Importer

    var scratch: String { root.path + "/scratch" }

    func outbox(_ partner: String = "acme") -> String { root.outbox(partner) }

    /// Writes `text` as a file in the scratch folder and imports it for `partner`.
    @discardableResult
    func importText(_ text: String, name: String = "customers.csv", partner: String = "acme", policy: ImportPolicy = ImportPolicy()) throws -> ImportOutcome {
        let path = scratch + "/" + name
        try writeFile(path, text)
        return try importFile(path, partner: partner, policy: policy)
    }

    @discardableResult
    func importFile(_ path: String, partner: String = "acme", options: ReadOptions = ReadOptions(), policy: ImportPolicy = ImportPolicy()) throws -> ImportOutcome {
        try root.prepare(partner: partner)
        var request = ImportRequest(path: path, partner: partner, outbox: root.outbox(partner), readOptions: options)
        request.policy = policy
        return try importer.run(request)
    }

    /// Every stored customer of `partner` as a row of text, ordered by external_id.
    func customers(_ partner: String = "acme") throws -> [[String?]] {
        try database.cachedStatement("""
            SELECT external_id, email, name, phone, created_at, custom_attributes FROM customers
            WHERE partner = ?1 ORDER BY external_id
            """).rows([.text(partner)])
    }

    /// The whole customers table, every column, for before/after comparisons. An undo's
    /// comparison leaves out row_digest, which recognizes a row sent again and is not a value of
    /// the customer (undo clears it).
    func dumpCustomers(includingDigest: Bool = true) throws -> [[String?]] {
        let columns = includingDigest ? customerColumns + ", row_digest" : customerColumns
        return try database.cachedStatement("SELECT \(columns) FROM customers ORDER BY partner, external_id").rows()
    }
}

/// Every column of `customers` but row_digest.
let customerColumns = "partner, external_id, email, name, phone, created_at, custom_attributes, created_by_import, updated_by_import, updated_at, import_row"

func withImportEnvironment<T>(_ body: (ImportEnvironment) throws -> T) throws -> T {
    try withTemporaryDirectory { dir in
        let root = DataRoot(dir + "/var")
        try root.prepare()
        try FileManager.default.createDirectory(atPath: root.path + "/scratch", withIntermediateDirectories: true)
        let database = try Database(path: root.database)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return try body(ImportEnvironment(root: root, database: database, importer: Importer(database: database, logger: logger)))
    }
}

/// One sheet of a workbook as rows of text, read back with Intake's own reader; rows are padded
/// to the header's width, since a sheet leaves trailing empty cells out.
func sheet(_ path: String, _ name: String) throws -> [[String]] {
    var options = ReadOptions()
    options.sheet = name
    let rows = try readAllRecords(XLSXReader(path: path, options: options)).map(\.cells)
    let width = rows.first?.count ?? 0
    return rows.map { $0.count < width ? $0 + Array(repeating: "", count: width - $0.count) : $0 }
}


/// The Summary sheet as label → value.
func summary(_ path: String) throws -> [String: String] {
    Dictionary(try sheet(path, "Summary").map { ($0[0], $0.count > 1 ? $0[1] : "") }, uniquingKeysWith: { a, _ in a })
}
