/// The statements a file's writer runs, and how their parameters are bound: shared with the
/// bench's floor of the same writes (`BareWrites`), which drives them without the writer.
extension CustomerWriter {
    /// Change records per multi-row `INSERT`.
    package static let changeBatch = 32

    /// The insert of `count` change records, the values updates replaced, for undo and history:
    /// ?1 import, ?2 partner, ?3 time, then external_id and before of each. `OR FAIL`, not
    /// SQLite's default `ABORT`: a failing statement then keeps the records it inserted before
    /// the failure instead of undoing them, which spares every batch a copy of each page it
    /// changes into SQLite's statement journal. An error gives up the file's whole transaction
    /// anyway.
    package static func recordChangesSQL(count: Int) -> String {
        """
        INSERT OR FAIL INTO customer_changes (import_id, partner, external_id, action, before, after, changed_at)
        VALUES \((0..<count).map { i in "(?1, ?2, ?\(4 + 2 * i), 'updated', ?\(5 + 2 * i), NULL, ?3)" }.joined(separator: ", "))
        """
    }

    /// A new customer: ?1 partner, ?2 external_id, ?3–?7 email, name, phone, created_at and
    /// attributes, ?8 import, ?9 time, ?10 row, ?11 digest; nothing when it exists.
    package static let insertSQL = """
        INSERT INTO customers (partner, external_id, email, name, phone, created_at, custom_attributes,
                               created_by_import, updated_by_import, updated_at, import_row, row_digest)
        VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9, ?10, ?11)
        ON CONFLICT DO NOTHING
        """

    /// An existing customer's update in `mode`, with ``insertSQL``'s parameters. In merge (and
    /// update_only) a NULL parameter keeps the column: an empty cell, or attributes the merge
    /// leaves as they are, need no copy of the stored value.
    package static func updateSQL(mode: ImportMode) -> String {
        let set = { (column: String, parameter: Int) in mode == .replace ? "?\(parameter)" : "coalesce(?\(parameter), \(column))" }
        return """
            UPDATE customers SET email = \(set("email", 3)), name = \(set("name", 4)), phone = \(set("phone", 5)),
                                 created_at = \(set("created_at", 6)), custom_attributes = \(set("custom_attributes", 7)),
                                 updated_by_import = ?8, updated_at = ?9, import_row = ?10, row_digest = ?11
            WHERE partner = ?1 AND external_id = ?2
            """
    }

    /// Inserts change records through `statement`, of ``recordChangesSQL(count:)`` for as many
    /// (also the bench's floor of these writes).
    package static func recordChanges(_ changes: some Collection<(externalID: String, before: [UInt8])>, with statement: Statement,
                                      importID: Int64, partner: String, now: String) throws(SQLiteError) {
        try statement.bind(importID, at: 1)
        try statement.bind(partner, at: 2)
        try statement.bind(now, at: 3)
        for (i, change) in changes.enumerated() {
            try statement.bind(change.externalID, at: Int32(4 + 2 * i))
            try statement.bind(utf8: change.before, at: Int32(5 + 2 * i))
        }
        try statement.runBound()
    }

    /// A customer's five values as this writer stores them (attributes nil: kept, in merge).
    package typealias Values = (email: String?, name: String?, phone: String?, createdAt: String?, attributes: String?)

    /// Binds a customer's values to a statement of ``insertSQL``'s or ``updateSQL(mode:)``'s
    /// parameters (also the bench's floor of these writes).
    package static func bindCustomer(_ statement: Statement, partner: String, _ externalID: String, _ values: Values,
                                     importID: Int64, now: String, digest: Int64?, row: Int) throws(SQLiteError) {
        try statement.bind(partner, at: 1)
        try statement.bind(externalID, at: 2)
        try statement.bind(values.email, at: 3)
        try statement.bind(values.name, at: 4)
        try statement.bind(values.phone, at: 5)
        try statement.bind(values.createdAt, at: 6)
        try statement.bind(values.attributes, at: 7)
        try statement.bind(importID, at: 8)
        try statement.bind(now, at: 9)
        try statement.bind(Int64(row), at: 10)
        try statement.bind(digest.map(SQLValue.integer) ?? .null, at: 11)
    }
}
