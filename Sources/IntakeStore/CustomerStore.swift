/// A customer as stored, for the upsert's comparison and for exports.
public struct StoredCustomer: Sendable, Equatable {
    public var externalID: String
    public var email: String?
    public var name: String?
    public var phone: String?
    public var createdAt: String?
    /// JSON object text as SQLite renders it.
    public var customAttributes: String
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

    /// The values an import gives customer `externalID`; nil for a field it does not give.
    public init(externalID: String, email: String?, name: String?, phone: String?, createdAt: String?, attributesJSON: String) {
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
