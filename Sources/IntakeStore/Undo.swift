/// Takes back what one import changed, and answers "why does this customer look like this?".
public final class ImportHistory {
    public let database: Database

    public init(database: Database) { self.database = database }

    /// Why an undo is refused.
    public struct Refusal: Error, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    public struct UndoReport: Sendable, Equatable {
        /// Customers the import created, now removed.
        public var removed: [String] = []
        /// Customers the import changed, now back to their earlier values.
        public var restored: [String] = []
        /// Customers a later import changed too, left as they are (only with `force`).
        public var skipped: [String] = []

        public init(removed: [String] = [], restored: [String] = [], skipped: [String] = []) {
            self.removed = removed
            self.restored = restored
            self.skipped = skipped
        }
    }

    /// Undoes import `id` in one transaction. Refused when the import is not a completed one, was
    /// undone already, its undo data was pruned, or (without `force`) a later import changed some
    /// of the same customers; with `force`, those customers are skipped and listed.
    public func undo(_ id: Int64, force: Bool, now: String) throws -> UndoReport {
        try database.transaction {
            let log = ImportLog(database: database)
            guard let record = try log.find(id) else { throw Refusal(message: "there is no import \(id)") }
            if let undone = record.undoneAt { throw Refusal(message: "import \(id) was already undone at \(undone) UTC") }
            guard record.status == .completed else { throw Refusal(message: "import \(id) is \(record.status.rawValue); only completed imports change customers and can be undone") }
            let changes = try database.prepare("""
                SELECT c.external_id, c.action, c.before, cu.updated_by_import
                FROM customer_changes c
                LEFT JOIN customers cu ON cu.partner = c.partner AND cu.external_id = c.external_id
                WHERE c.import_id = ?1 AND c.action IN ('created', 'updated') ORDER BY c.id
                """).rows([.integer(id)])
            if changes.isEmpty && record.created + record.updated > 0 {
                throw Refusal(message: "the undo data of import \(id) was pruned after its retention time; it can no longer be undone")
            }
            var report = UndoReport()
            let conflicts = changes.filter { $0[3] != String(id) }.map { $0[0] ?? "" }
            if !conflicts.isEmpty && !force {
                let shown = conflicts.prefix(20).joined(separator: ", ")
                throw Refusal(message: "later imports changed \(conflicts.count) of the customers import \(id) touched (\(shown)\(conflicts.count > 20 ? ", …" : "")); use --force to undo only the others")
            }
            report.skipped = conflicts
            let snapshot = """
                json_object('email', email, 'name', name, 'phone', phone, 'created_at', created_at,
                            'custom_attributes', json(custom_attributes))
                """
            for change in changes where change[3] == String(id) {
                let externalID = change[0] ?? ""
                let key: [SQLValue] = [.text(record.partner), .text(externalID)]
                try database.prepare("""
                    INSERT INTO customer_changes (import_id, partner, external_id, action, before, after, changed_at)
                    SELECT ?3, partner, external_id, 'undone', \(snapshot), NULL, ?4 FROM customers WHERE partner = ?1 AND external_id = ?2
                    """).run(key + [.integer(id), .text(now)])
                let changeID = database.lastInsertRowID
                if change[1] == "created" {
                    try database.prepare("DELETE FROM customers WHERE partner = ?1 AND external_id = ?2").run(key)
                    report.removed.append(externalID)
                } else {
                    try database.prepare("""
                        UPDATE customers SET email = json_extract(?3, '$.email'), name = json_extract(?3, '$.name'),
                            phone = json_extract(?3, '$.phone'), created_at = json_extract(?3, '$.created_at'),
                            custom_attributes = json_extract(?3, '$.custom_attributes'),
                            updated_by_import = json_extract(?3, '$.updated_by_import'), updated_at = json_extract(?3, '$.updated_at')
                        WHERE partner = ?1 AND external_id = ?2
                        """).run(key + [SQLValue(change[2])])
                    try database.prepare("UPDATE customer_changes SET after = (SELECT \(snapshot) FROM customers WHERE partner = ?1 AND external_id = ?2) WHERE id = ?3")
                        .run(key + [.integer(changeID)])
                    report.restored.append(externalID)
                }
            }
            var undone = record
            undone.undoneAt = now
            try log.update(undone)
            return report
        }
    }

    /// One entry of a customer's history.
    public struct Entry: Sendable, Equatable {
        public var importID: Int64
        public var fileName: String
        public var at: String
        public var action: String
        /// The values the import set (JSON), or nil when it removed the customer.
        public var values: String?
    }

    /// Every retained change to one customer, oldest first.
    public func history(partner: String, externalID: String) throws(SQLiteError) -> [Entry] {
        try database.prepare("""
            SELECT c.import_id, i.file_name, c.changed_at, c.action, c.after
            FROM customer_changes c JOIN imports i ON i.id = c.import_id
            WHERE c.partner = ?1 AND c.external_id = ?2 ORDER BY c.id
            """).rows([.text(partner), .text(externalID)]).map {
            Entry(importID: Int64($0[0] ?? "0") ?? 0, fileName: $0[1] ?? "", at: $0[2] ?? "", action: $0[3] ?? "", values: $0[4])
        }
    }

    /// Drops undo data of a partner's imports that finished before `cutoff` (`YYYY-MM-DD HH:MM:SS`).
    @discardableResult
    public func prune(partner: String, finishedBefore cutoff: String) throws(SQLiteError) -> Int {
        try database.prepare("""
            DELETE FROM customer_changes WHERE import_id IN (
                SELECT id FROM imports WHERE partner = ?1 AND finished_at < ?2)
            """).run([.text(partner), .text(cutoff)])
        return database.changes
    }
}
