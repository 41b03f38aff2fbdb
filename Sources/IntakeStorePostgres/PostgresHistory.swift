import IntakeStore

/// Undo and history in PostgreSQL, with the same rules and answers as SQLite's
/// ``ImportHistory``: the change rows hold the same JSON (``PostgresSchema``'s `intake_replaced`
/// for an update, `intake_snapshot` for an undo),
/// and a customer's history is assembled by the same code (``ImportHistory/assemble(changes:current:importInfo:)``).
public final class PostgresHistory: HistoryStore {
    private let store: PostgresImportStore
    private var connection: PostgresConnection { store.connection }

    public init(store: PostgresImportStore) { self.store = store }

    private static let snapshot = "intake_snapshot(email, name, phone, created_at, custom_attributes)"
    /// Each value set from the change's `before` when it holds that member (the values the import
    /// replaced), else left as it is; `->` is NULL only for a missing member.
    private static let restoredValues = [("email", "->>"), ("name", "->>"), ("phone", "->>"), ("created_at", "->>"), ("custom_attributes", "->")].map { column, get in
        "\(column) = CASE WHEN t.before->'\(column)' IS NULL THEN cu.\(column) ELSE t.before\(get)'\(column)' END"
    }.joined(separator: ", ")

    public func undo(_ id: Int64, force: Bool, now: String) throws -> ImportHistory.UndoReport {
        try store.transaction(commit: true) {
            typealias Refusal = ImportHistory.Refusal
            guard let found = try store.findImport(id) else { throw Refusal(message: "there is no import \(id)") }
            let partner = found.partner
            // One undo, prune or import of the partner at a time (the import's own lock); the
            // record is read again under it, as another undo may have finished meanwhile.
            try connection.lockPartnerImports(partner)
            guard let record = try store.findImport(id) else { throw Refusal(message: "there is no import \(id)") }
            if let undone = record.undoneAt { throw Refusal(message: "import \(id) was already undone at \(undone) UTC") }
            guard record.status == .completed else {
                throw Refusal(message: "import \(id) is \(record.status.rawValue); only completed imports change customers and can be undone")
            }
            if let pruned = try connection.scalar("SELECT undo_pruned_at FROM imports WHERE partner = $1 AND id = $2", [partner, String(id)]) {
                throw Refusal(message: "the undo data of import \(id) was pruned at \(pruned) UTC after its retention time; it can no longer be undone")
            }
            let updates = try connection.query("""
                SELECT c.external_id, c.before::text, cu.updated_by_import::text
                FROM customer_changes c
                LEFT JOIN customers cu ON cu.partner = c.partner AND cu.external_id = c.external_id
                WHERE c.partner = $1 AND c.import_id = $2 AND c.action = 'updated' ORDER BY c.id
                """, [partner, String(id)])
            let creations = try connection.query("""
                SELECT external_id, updated_by_import::text FROM customers
                WHERE partner = $1 AND created_by_import = $2 ORDER BY import_row, external_id
                """, [partner, String(id)])
            let conflicts = (updates.filter { $0[2] != String(id) } + creations.filter { $0[1] != String(id) }).map { $0[0] ?? "" }
            if !conflicts.isEmpty && !force {
                let shown = conflicts.prefix(20).joined(separator: ", ")
                throw Refusal(message: "later imports or API writes changed \(conflicts.count) of the customers import \(id) touched (\(shown)\(conflicts.count > 20 ? ", …" : "")); use --force to undo only the others")
            }
            var report = ImportHistory.UndoReport(skipped: conflicts)
            // Creations, set-based: an 'undone' row keeps each removed customer's values, then they go.
            let removable = "partner = $1 AND created_by_import = $2 AND updated_by_import = $2"
            try connection.query("""
                INSERT INTO customer_changes (partner, import_id, external_id, action, before, after, changed_at)
                SELECT partner, $2, external_id, 'undone', \(Self.snapshot)::json, NULL, $3 FROM customers WHERE \(removable)
                ORDER BY import_row, external_id
                """, [partner, String(id), now])
            try connection.query("DELETE FROM customers WHERE \(removable)", [partner, String(id)])
            report.removed = creations.filter { $0[1] == String(id) }.map { $0[0] ?? "" }
            // Updates, set-based too: every customer this import changed (and no later one did)
            // gets its `before` back; the 'undone' row keeps the values it had and those it got.
            let restorable = updates.filter { $0[2] == String(id) }.map { $0[0] ?? "" }
            if !restorable.isEmpty {
                try connection.query("""
                    WITH target AS (
                        SELECT c.external_id, c.before, cu.email, cu.name, cu.phone, cu.created_at, cu.custom_attributes
                        FROM customer_changes c JOIN customers cu ON cu.partner = c.partner AND cu.external_id = c.external_id
                        WHERE c.partner = $1 AND c.import_id = $2 AND c.action = 'updated' AND cu.updated_by_import = $2
                    ), restored AS (
                        UPDATE customers cu SET \(Self.restoredValues),
                            updated_by_import = (t.before->>'updated_by_import')::bigint, updated_at = t.before->>'updated_at',
                            import_row = (t.before->>'import_row')::bigint
                        FROM target t WHERE cu.partner = $1 AND cu.external_id = t.external_id
                        RETURNING cu.external_id, cu.email, cu.name, cu.phone, cu.created_at, cu.custom_attributes
                    )
                    INSERT INTO customer_changes (partner, import_id, external_id, action, before, after, changed_at)
                    SELECT $1, $2, t.external_id, 'undone',
                           intake_snapshot(t.email, t.name, t.phone, t.created_at, t.custom_attributes)::json,
                           intake_snapshot(r.email, r.name, r.phone, r.created_at, r.custom_attributes)::json, $3
                    FROM target t JOIN restored r USING (external_id)
                    ORDER BY t.external_id
                    """, [partner, String(id), now])
                report.restored = restorable
            }
            var undone = record
            undone.undoneAt = now
            try store.updateImport(undone)
            return report
        }
    }

    public func history(partner: String, externalID: String) throws -> [ImportHistory.Entry] {
        // One snapshot: the entries are rebuilt from the row back, so the change records and the
        // row must be of the same moment.
        try connection.snapshot { try readHistory(partner: partner, externalID: externalID) }
    }

    private func readHistory(partner: String, externalID: String) throws -> [ImportHistory.Entry] {
        let changes = try connection.query("""
            SELECT c.import_id::text, i.file_name, c.changed_at, c.action, c.after::text, c.before::text,
                   c.before->>'updated_by_import', i.token_name
            FROM customer_changes c JOIN imports i ON i.partner = c.partner AND i.id = c.import_id
            WHERE c.partner = $1 AND c.external_id = $2 ORDER BY c.id
            """, [partner, externalID])
        let current = try connection.query("""
            SELECT created_by_import::text, updated_by_import::text, \(Self.snapshot)
            FROM customers WHERE partner = $1 AND external_id = $2
            """, [partner, externalID]).first
        return try ImportHistory.assemble(changes: changes, current: current) { id in
            try connection.query("SELECT file_name, coalesce(finished_at, started_at), token_name FROM imports WHERE partner = $1 AND id = $2",
                                 [partner, String(id)]).first
        }
    }
}
