import CSQLite

/// Takes back what one import changed, and answers "why does this customer look like this?".
public final class ImportHistory {
    public let database: Database

    /// Undo and history over the imports and customer changes kept in `database`.
    public init(database: Database) { self.database = database }

    /// Why an undo is refused.
    public struct Refusal: Error, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
        public init(message: String) { self.message = message }
    }

    /// What an undo did, by external_id.
    public struct UndoReport: Sendable, Equatable {
        /// Customers the import created, now removed.
        public var removed: [String] = []
        /// Customers the import changed, now back to their earlier values.
        public var restored: [String] = []
        /// Customers a later import changed too, left as they are (only with `force`).
        public var skipped: [String] = []

        /// A report listing these external_ids; ``ImportHistory/undo(_:force:now:)`` starts from
        /// an empty one.
        public init(removed: [String] = [], restored: [String] = [], skipped: [String] = []) {
            self.removed = removed
            self.restored = restored
            self.skipped = skipped
        }
    }

    /// Undoes import `id` in one transaction. Refused when the import is not a completed one, was
    /// undone already, its undo data was pruned, or (without `force`) a later import changed some
    /// of the same customers; with `force`, those customers are skipped and listed.
    ///
    /// Customers the import created are those with `created_by_import = id`; they are removed
    /// when no later import changed them (`updated_by_import` is still `id`). Customers it updated
    /// get the `before` values of its `customer_changes` rows back (the values it replaced).
    public func undo(_ id: Int64, force: Bool, now: String) throws -> UndoReport {
        try database.transaction {
            let log = ImportLog(database: database)
            guard let record = try log.find(id) else { throw Refusal(message: "there is no import \(id)") }
            if let undone = record.undoneAt { throw Refusal(message: "import \(id) was already undone at \(undone) UTC") }
            guard record.status == .completed else { throw Refusal(message: "import \(id) is \(record.status.rawValue); only completed imports change customers and can be undone") }
            if let pruned = try database.cachedStatement("SELECT undo_pruned_at FROM imports WHERE id = ?1").rows([.integer(id)]).first?[0] {
                throw Refusal(message: "the undo data of import \(id) was pruned at \(pruned) UTC after its retention time; it can no longer be undone")
            }
            let partner = SQLValue.text(record.partner)
            let updates = try database.cachedStatement("""
                SELECT c.external_id, c.before, cu.updated_by_import
                FROM customer_changes c
                LEFT JOIN customers cu ON cu.partner = c.partner AND cu.external_id = c.external_id
                WHERE c.import_id = ?1 AND c.action = 'updated' ORDER BY c.id
                """).rows([.integer(id)])
            let creations = try database.cachedStatement("""
                SELECT external_id, updated_by_import FROM customers
                WHERE partner = ?1 AND created_by_import = ?2 ORDER BY import_row, external_id
                """).rows([partner, .integer(id)])
            var report = UndoReport()
            let conflicts = (updates.filter { $0[2] != String(id) } + creations.filter { $0[1] != String(id) }).map { $0[0] ?? "" }
            if !conflicts.isEmpty && !force {
                let shown = conflicts.prefix(20).joined(separator: ", ")
                throw Refusal(message: "later imports or API writes changed \(conflicts.count) of the customers import \(id) touched (\(shown)\(conflicts.count > 20 ? ", …" : "")); use --force to undo only the others")
            }
            report.skipped = conflicts
            let snapshot = """
                json_object('email', email, 'name', name, 'phone', phone, 'created_at', created_at,
                            'custom_attributes', json(custom_attributes))
                """
            // Creations, set-based: an 'undone' row keeps each removed customer's values (history
            // shows them as the values the import created), then the rows go.
            let removable = "partner = ?1 AND created_by_import = ?2 AND updated_by_import = ?2"
            try database.cachedStatement("""
                INSERT INTO customer_changes (import_id, partner, external_id, action, before, after, changed_at)
                SELECT ?2, partner, external_id, 'undone', \(snapshot), NULL, ?3 FROM customers WHERE \(removable)
                ORDER BY import_row, external_id
                """).run([partner, .integer(id), .text(now)])
            try database.cachedStatement("DELETE FROM customers WHERE \(removable)").run([partner, .integer(id)])
            report.removed = creations.filter { $0[1] == String(id) }.map { $0[0] ?? "" }
            for change in updates where change[2] == String(id) {
                let externalID = change[0] ?? ""
                let key: [SQLValue] = [partner, .text(externalID)]
                try database.cachedStatement("""
                    INSERT INTO customer_changes (import_id, partner, external_id, action, before, after, changed_at)
                    SELECT ?3, partner, external_id, 'undone', \(snapshot), NULL, ?4 FROM customers WHERE partner = ?1 AND external_id = ?2
                    """).run(key + [.integer(id), .text(now)])
                let changeID = database.lastInsertRowID
                // `before` holds the values the import replaced (all five in records of an older
                // Intake); the others are as the import left them, since no later change was made.
                try database.cachedStatement("""
                    UPDATE customers SET \(Self.restoredValues),
                        updated_by_import = json_extract(?3, '$.updated_by_import'), updated_at = json_extract(?3, '$.updated_at'),
                        import_row = json_extract(?3, '$.import_row'), row_digest = NULL
                    WHERE partner = ?1 AND external_id = ?2
                    """).run(key + [SQLValue(change[1])])
                try database.cachedStatement("UPDATE customer_changes SET after = (SELECT \(snapshot) FROM customers WHERE partner = ?1 AND external_id = ?2) WHERE id = ?3")
                    .run(key + [.integer(changeID)])
                report.restored.append(externalID)
            }
            var undone = record
            undone.undoneAt = now
            try log.update(undone)
            return report
        }
    }

    /// Each value set from `before` (?3) when it holds that member, else left as it is
    /// (`json_type` is NULL only for a missing member; a JSON null sets NULL).
    private static let restoredValues = ChangeValues.keys.map { column in
        "\(column) = CASE WHEN json_type(?3, '$.\(column)') IS NULL THEN \(column) ELSE json_extract(?3, '$.\(column)') END"
    }.joined(separator: ", ")

    /// What one import did to a customer.
    public enum Action: String, Sendable {
        case created, updated
        /// An undo put back the values before the import (or removed the customer it created).
        case undone
    }

    /// One entry of a customer's history.
    public struct Entry: Sendable, Equatable {
        public var importID: Int64
        /// The file's name, or for an API change the request (`PUT /v4/consumers/42`).
        public var fileName: String
        /// The token that made an API change; nil for a file's.
        public var tokenName: String? = nil
        public var at: String
        public var action: Action
        /// The values the import set (JSON); nil when it removed the customer, or for a creation
        /// whose values are no longer known (the undo data of the change after it was pruned).
        public var values: String?
    }

    /// Every retained change to one customer, oldest first.
    ///
    /// Creations have no change row of their own (see ``CustomerWriter``); each "life" of the
    /// customer (up to an undo that removed it, or up to now) starts with a created entry for the
    /// import that created it, whose values are those the first change of that life found.
    public func history(partner: String, externalID: String) throws(SQLiteError) -> [Entry] {
        // One snapshot: the entries are rebuilt from the row back, so the change records and the
        // row must be of the same moment.
        try database.reading { () throws(SQLiteError) -> [Entry] in try readHistory(partner: partner, externalID: externalID) }
    }

    private func readHistory(partner: String, externalID: String) throws(SQLiteError) -> [Entry] {
        let rows = try database.cachedStatement("""
            SELECT c.import_id, i.file_name, c.changed_at, c.action, c.after, c.before,
                   json_extract(c.before, '$.updated_by_import'), i.token_name
            FROM customer_changes c JOIN imports i ON i.id = c.import_id
            WHERE c.partner = ?1 AND c.external_id = ?2 ORDER BY c.id
            """).rows([.text(partner), .text(externalID)])
        let current = try database.cachedStatement("""
            SELECT created_by_import, updated_by_import,
                   json_object('email', email, 'name', name, 'phone', phone, 'created_at', created_at,
                               'custom_attributes', json(custom_attributes))
            FROM customers WHERE partner = ?1 AND external_id = ?2
            """).rows([.text(partner), .text(externalID)]).first
        let made = try database.cachedStatement("SELECT file_name, coalesce(finished_at, started_at), token_name FROM imports WHERE id = ?1")
        do {
            return try Self.assemble(changes: rows, current: current) { id throws(SQLiteError) in try made.rows([.integer(id)]).first }
        } catch let error as SQLiteError {
            throw error
        } catch {
            throw SQLiteError(code: SQLITE_CORRUPT, message: "\(error)")
        }
    }

    /// A customer's history from its stored change rows, the same for every store.
    ///
    /// An update's record keeps only the values it replaced, not the values it set (see
    /// ``ChangeValues``), so each "life" of the customer (up to an undo that removed it, or up to
    /// now) is walked newest first from the values it ended with (the row as stored now, or what
    /// the removing undo found): the values after a change are those before the next one. A record
    /// that keeps its values after (an undo's, or an update's written by an older Intake)
    /// gives them as they are.
    ///
    /// - Parameters:
    ///   - changes: its `customer_changes` rows in order, each: import id, file name, when, action,
    ///     values after (NULL when not kept), `before` as stored, the import that set the values
    ///     before, the API token's name.
    ///   - current: the customer as stored now (created by, updated by, values), nil when gone.
    ///   - importInfo: an import's file name, time and token name.
    /// - Throws: ``HistoryError`` when a row holds an unknown action (a damaged database), or
    ///   what `importInfo` throws.
    public static func assemble(changes rows: [[String?]], current: [String?]?, importInfo: (Int64) throws -> [String?]?) throws -> [Entry] {
        var changes: [Change] = []
        for row in rows {
            // The schema's CHECK allows only the three actions; anything else is a damaged database.
            guard let action = Action(rawValue: row[3] ?? "") else {
                throw HistoryError(message: "customer_changes holds an unknown action \"\(row[3] ?? "NULL")\"")
            }
            changes.append(Change(entry: Entry(importID: Int64(row[0] ?? "0") ?? 0, fileName: row[1] ?? "", tokenName: row[7], at: row[2] ?? "", action: action, values: row[4]),
                                  before: row[5], beforeBy: row[6].flatMap { Int64($0) }))
        }
        /// A life's entries, starting with the created entry of `createdBy` (when known), with
        /// every change's values after it filled in from `end`, the values the life ended with.
        func entries(of life: [Change], endingWith end: String?, createdBy: Int64?, fallback: String?) throws -> [Entry] {
            var life = life
            var state = end
            var valuesBefore = [String?](repeating: nil, count: life.count)
            for i in life.indices.reversed() {
                if life[i].isRemoval {
                    // It found `end` and left nothing; its own entry shows no values.
                    valuesBefore[i] = state
                    continue
                }
                if let after = life[i].entry.values { state = after } else { life[i].entry.values = state }
                state = life[i].before.flatMap { ChangeValues.overlay($0, on: state) }
                valuesBefore[i] = state
            }
            guard let createdBy else { return life.map(\.entry) }
            let made = try importInfo(createdBy)
            var created = fallback
            // The values as created are those before the first update of this life, if that
            // update was made over the creation itself (not over a later change whose row was pruned).
            if let first = life.firstIndex(where: { $0.entry.action == .updated }) {
                created = life[first].beforeBy == createdBy ? valuesBefore[first] : nil
            }
            let creation = Entry(importID: createdBy, fileName: made?[0] ?? "", tokenName: made?[2] ?? nil, at: made?[1] ?? "", action: .created, values: created)
            return [creation] + life.map(\.entry)
        }
        var result: [Entry] = []
        var life: [Change] = []
        for change in changes {
            life.append(change)
            if change.isRemoval {
                // An undo removed the customer: it had been created by the undone import, with
                // the values the undo found (a later change would have blocked the removal).
                let found = change.before.flatMap { ChangeValues.overlay($0, on: nil) }
                result += try entries(of: life, endingWith: found, createdBy: change.entry.importID, fallback: found)
                life = []
            }
        }
        if let current, let createdBy = current[0].flatMap({ Int64($0) }) {
            let unchanged = current[1] == current[0]
            result += try entries(of: life, endingWith: current[2], createdBy: createdBy, fallback: life.isEmpty && unchanged ? current[2] : nil)
        } else {
            result += try entries(of: life, endingWith: nil, createdBy: nil, fallback: nil)
        }
        return result
    }

    /// A customer's history that cannot be read (a damaged change row).
    public struct HistoryError: Error, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    private struct Change {
        var entry: Entry
        var before: String?
        var beforeBy: Int64?
        /// An undo that removed the customer (its import had created it).
        var isRemoval: Bool { entry.action == .undone && entry.values == nil }
    }

    /// Drops the undo data of a partner's imports that finished before `cutoff`
    /// (`YYYY-MM-DD HH:MM:SS`) and marks them as no longer undoable; returns how many imports
    /// expired now.
    @discardableResult
    public func prune(partner: String, finishedBefore cutoff: String, now: String) throws(SQLiteError) -> Int {
        try database.cachedStatement("""
            UPDATE imports SET undo_pruned_at = ?3
            WHERE partner = ?1 AND finished_at < ?2 AND status = 'completed' AND undo_pruned_at IS NULL
            """).run([.text(partner), .text(cutoff), .text(now)])
        let expired = database.changes
        try database.cachedStatement("""
            DELETE FROM customer_changes WHERE import_id IN (
                SELECT id FROM imports WHERE partner = ?1 AND finished_at < ?2)
            """).run([.text(partner), .text(cutoff)])
        return expired
    }
}
