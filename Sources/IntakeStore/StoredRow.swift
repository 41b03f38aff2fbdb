/// A customer's row as ``CustomerWriter`` compares and restores it: its values, who last wrote
/// them, when and from which row, and the digest of that row.
///
/// A class: it rides in each prepared row of a file through the pipeline's channels
/// (``CustomerUpdate/readAhead``), and as a reference it keeps every row, including the many
/// that never have one, one word larger instead of nine fields.
public final class StoredRow: Sendable {
    /// The row's texts, in ``Text``'s order, one after another as SQLite gave them: one buffer
    /// rather than a `String` each, because a file's changed rows are compared with them byte by
    /// byte and copied into change records, and most of them never need to be Swift strings
    /// (nor have their UTF-8 checked and copied to become one).
    private let texts: [UInt8]
    /// Where each text ends in ``texts`` (it starts where the one before ends).
    private let ends: SIMD8<Int32>
    /// Bit `i` set: text `i` is NULL.
    private let nulls: UInt8
    let updatedBy: Int64?
    let importRow: Int64?
    let digest: Int64?

    /// The text columns of a stored row.
    enum Text: Int {
        case email, name, phone, createdAt, attributes, updatedAt

        static let count = 6

        /// Its column in ``StoredRow/selectSQL``.
        var column: Int32 { self == .updatedAt ? 6 : Int32(rawValue) }
    }

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
        // The types first: SQLite's type of a value is undefined once it was converted for reading.
        // (Loops over raw values: `allCases` would make an array each time.)
        var nulls: UInt8 = 0
        for raw in 0..<Text.count where statement.isNull(Text(rawValue: raw)!.column) { nulls |= 1 << raw }
        var length = 2
        for raw in 0..<Text.count { length += statement.byteCount(Text(rawValue: raw)!.column) }
        var texts: [UInt8] = []
        texts.reserveCapacity(length)
        var ends = SIMD8<Int32>()
        for raw in 0..<Text.count {
            let text = Text(rawValue: raw)!
            if nulls & (1 << text.rawValue) == 0 {
                statement.withText(text.column) { texts.append(contentsOf: $0) }
            } else if text == .attributes {
                // `custom_attributes` is NOT NULL; a NULL one (a hand-made row) reads as no attributes.
                nulls &= ~(1 << text.rawValue)
                texts.append(contentsOf: "{}".utf8)
            }
            ends[text.rawValue] = Int32(texts.count)
        }
        self.texts = texts
        self.ends = ends
        self.nulls = nulls
        updatedBy = statement.isNull(5) ? nil : statement.int(5)
        importRow = statement.isNull(7) ? nil : statement.int(7)
        digest = statement.isNull(8) ? nil : statement.int(8)
        byteCount = 64 + texts.count
    }

    /// Calls `body` with the bytes of `text`, nil for NULL.
    func withBytes<R, E: Error>(_ text: Text, _ body: (UnsafeBufferPointer<UInt8>?) throws(E) -> R) throws(E) -> R {
        if nulls & (1 << text.rawValue) != 0 { return try body(nil) }
        let start = text.rawValue == 0 ? 0 : Int(ends[text.rawValue - 1]), end = Int(ends[text.rawValue])
        return try texts.withUnsafeBufferPointer { (all) throws(E) -> R in try body(UnsafeBufferPointer(rebasing: all[start..<end])) }
    }

    /// Whether `text` holds the same bytes as `value` (both NULL, or both the same text).
    func holds(_ text: Text, sameAs value: String?) -> Bool {
        withBytes(text) { stored in
            guard let stored, let value else { return stored == nil && value == nil }
            return value.withUTF8Bytes { String.binaryOrder(UnsafeRawBufferPointer(stored), UnsafeRawBufferPointer($0)) == 0 }
        }
    }

    /// `text` as a Swift string (for tests and messages, not the hot path).
    func string(_ text: Text) -> String? {
        withBytes(text) { $0.map { String(decoding: $0, as: UTF8.self) } }
    }

    var name: String? { string(.name) }

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
