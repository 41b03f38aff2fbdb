/// A customer's row as ``CustomerWriter`` compares and restores it: its values, who last wrote
/// them, when and from which row, and the digest of that row.
///
/// A class: it rides in each prepared row of a file through the pipeline's channels
/// (``CustomerUpdate/readAhead``), and as a reference it keeps every row, including the many
/// that never have one, one word larger instead of nine fields.
public final class StoredRow: Sendable {
    let email: String?
    let name: String?
    let phone: String?
    let createdAt: String?
    /// JSON object text (`{}` for none).
    let attributes: String
    let updatedBy: Int64?
    let updatedAt: String?
    let importRow: Int64?
    let digest: Int64?

    /// The lookup of one customer's row by ?1 partner and ?2 external_id; ``read(_:partner:externalID:)`` runs it.
    static let selectSQL = """
        SELECT email, name, phone, created_at, custom_attributes, updated_by_import, updated_at, import_row, row_digest
        FROM customers WHERE partner = ?1 AND external_id = ?2
        """

    /// Customer `externalID` of `partner` through `statement` (prepared from ``selectSQL``), nil
    /// when there is none; the statement is reset for its next use.
    static func read(_ statement: Statement, partner: String, externalID: String) throws(SQLiteError) -> StoredRow? {
        statement.rewind()
        try statement.bind(partner, at: 1)
        try statement.bind(externalID, at: 2)
        defer { statement.rewind() }
        return try statement.step() ? StoredRow(statement) : nil
    }

    /// The row `statement` stands on, which selects the columns of ``selectSQL`` in its order.
    init(_ statement: Statement) {
        email = statement.text(0)
        name = statement.text(1)
        phone = statement.text(2)
        createdAt = statement.text(3)
        attributes = statement.text(4) ?? "{}"
        updatedBy = statement.isNull(5) ? nil : statement.int(5)
        updatedAt = statement.text(6)
        importRow = statement.isNull(7) ? nil : statement.int(7)
        digest = statement.isNull(8) ? nil : statement.int(8)
        byteCount = 64 + attributes.utf8.count + (email?.utf8.count ?? 0) + (name?.utf8.count ?? 0) + (phone?.utf8.count ?? 0)
            + (createdAt?.utf8.count ?? 0) + (updatedAt?.utf8.count ?? 0)
    }

    /// About what this row holds in memory, its texts and the object around them.
    public let byteCount: Int

    /// What the validating thread found stored for a row's customer as the import began (see
    /// ``StoredDigests``), so the writer need not look it up.
    public enum ReadAhead: Sendable {
        /// No such customer then.
        case absent
        case found(StoredRow)
        /// The stored row, and how the file's row compares with it in the writer's mode.
        case compared(StoredRow, StoredComparison)
    }
}
