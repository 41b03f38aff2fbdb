/// A customer as stored, for the upsert's comparison and for exports.
public struct StoredCustomer: Sendable, Equatable {
    public var externalID: String
    public var email: String?
    public var name: String?
    public var phone: String?
    public var createdAt: String?
    /// JSON object text as SQLite renders it.
    public var customAttributes: String
    /// When the customer was last written (UTC, `YYYY-MM-DD HH:MM:SS`); nil where not read.
    public var updatedAt: String? = nil

    public init(externalID: String, email: String?, name: String?, phone: String?, createdAt: String?, customAttributes: String,
                updatedAt: String? = nil) {
        self.externalID = externalID
        self.email = email
        self.name = name
        self.phone = phone
        self.createdAt = createdAt
        self.customAttributes = customAttributes
        self.updatedAt = updatedAt
    }
}

/// The values an import wants a customer to have. `nil` fields are "not given".
public struct CustomerUpdate: Sendable {
    public var externalID: String
    public var email: String?
    public var name: String?
    public var phone: String?
    public var createdAt: String?
    /// The given custom attributes as a JSON object (`{}` for none).
    public var attributesJSON: String
    /// The digest of the file row these values came from (see ``StoredDigests``), stored with
    /// the customer when this update writes it; nil from the API.
    public var rowDigest: Int64?
    /// The customer as stored when the import began, when the validating thread read it ahead
    /// (see ``StoredDigests``); nil when it did not. Set only by the import's pipeline, and used
    /// only by a file's writer, which tracks what the file wrote since.
    package var readAhead: StoredRow.ReadAhead?
    /// The id's ``IDHash`` when the import's pipeline computed it; a file's writer computes it
    /// otherwise (``hashOfID``).
    package var idHash: UInt64?

    /// The id's ``IDHash``: the one carried, or computed now.
    var hashOfID: UInt64 {
        assert(idHash == nil || idHash == IDHash.of(externalID))
        return idHash ?? IDHash.of(externalID)
    }

    /// The values an import gives customer `externalID`; nil for a field it does not give.
    public init(externalID: String, email: String?, name: String?, phone: String?, createdAt: String?, attributesJSON: String,
                rowDigest: Int64? = nil) {
        self.rowDigest = rowDigest
        self.externalID = externalID
        self.email = email
        self.name = name
        self.phone = phone
        self.createdAt = createdAt
        self.attributesJSON = attributesJSON
    }
}

/// What an upsert did to one customer.
public enum UpsertResult: Sendable, Equatable {
    case created
    case updated
    case unchanged
    /// `skip-existing`: the customer exists and was left alone.
    case skipped
    /// `create-only`: the customer exists, so the row is rejected.
    case alreadyExists
    /// `update-only`: the customer does not exist, so the row is rejected.
    case notFound
    /// The file used this external_id on an earlier row (`firstRow`); this row is rejected.
    case repeated(firstRow: Int)
}

/// How a file's rows meet stored customers, as the customer platforms our partners come from
/// define import modes.
public enum ImportMode: String, Sendable, CaseIterable {
    /// Create new customers; for existing ones set the given fields and attribute keys, keep the rest.
    case merge
    /// Create new; for existing ones replace every field and all attributes (empty cells clear).
    case replace
    /// Create new; leave existing customers untouched.
    case skipExisting = "skip-existing"
    /// Create new; a row whose customer exists is rejected.
    case createOnly = "create-only"
    /// Update existing; a row whose customer does not exist is rejected.
    case updateOnly = "update-only"
}

/// Customers of one partner. Every statement is scoped by partner: one partner's customers are
/// never matched, changed or read for another.
public final class CustomerStore {
    public let database: Database
    public let partner: String

    /// The customers of `partner` in `database`.
    public init(database: Database, partner: String) {
        self.database = database
        self.partner = partner
    }

    private static let columns = "external_id, email, name, phone, created_at, custom_attributes, updated_at"

    private static func customer(_ s: Statement) -> StoredCustomer {
        StoredCustomer(externalID: s.text(0) ?? "", email: s.text(1), name: s.text(2), phone: s.text(3),
                       createdAt: s.text(4), customAttributes: s.text(5) ?? "{}", updatedAt: s.text(6))
    }

    /// The partner's customer `externalID`, if there is one.
    public func find(_ externalID: String) throws(SQLiteError) -> StoredCustomer? {
        let statement = try database.cachedStatement("SELECT \(Self.columns) FROM customers WHERE partner = ?1 AND external_id = ?2")
        try statement.bind([.text(partner), .text(externalID)])
        defer { statement.reset() }
        return try statement.step() ? Self.customer(statement) : nil
    }

    /// Up to `limit` customers whose external_id sorts after `after` (all when nil), in
    /// external_id order: keyset pagination, stable while others write (a page never repeats or
    /// skips a customer that existed across both requests).
    public func page(after: String?, limit: Int) throws(SQLiteError) -> [StoredCustomer] {
        let statement = try database.cachedStatement("""
            SELECT \(Self.columns) FROM customers
            WHERE partner = ?1 AND external_id > ?2 ORDER BY external_id LIMIT ?3
            """)
        // No external_id is empty, so '' starts at the first; a plain `>` lets the primary key
        // seek straight to the cursor.
        try statement.bind([.text(partner), .text(after ?? ""), .integer(Int64(limit))])
        defer { statement.reset() }
        var out: [StoredCustomer] = []
        while try statement.step() { out.append(Self.customer(statement)) }
        return out
    }

    /// Every customer of the partner, by external_id, streamed to `body`.
    public func forEach(_ body: (StoredCustomer) throws -> Void) throws {
        let statement = try database.cachedStatement("""
            SELECT external_id, email, name, phone, created_at, custom_attributes
            FROM customers WHERE partner = ?1 ORDER BY external_id
            """)
        try statement.bind([.text(partner)])
        while try statement.step() {
            try body(StoredCustomer(
                externalID: statement.text(0) ?? "", email: statement.text(1), name: statement.text(2),
                phone: statement.text(3), createdAt: statement.text(4), customAttributes: statement.text(5) ?? "{}"
            ))
        }
        statement.reset()
    }
}
