import IntakeSystem

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
    // Held directly: the upsert runs once per row, so not even a cache lookup by SQL text.
    private let lookup: Statement
    private let insert: Statement
    private let updateStatement: Statement
    private let recordChange: Statement

    public init(database: Database, partner: String) throws(SQLiteError) {
        self.database = database
        self.partner = partner
        lookup = try database.prepare("""
            SELECT email, name, phone, created_at, custom_attributes, json_patch(custom_attributes, ?3), json(?3),
                   updated_by_import, updated_at
            FROM customers WHERE partner = ?1 AND external_id = ?2
            """)
        insert = try database.prepare("""
            INSERT INTO customers (partner, external_id, email, name, phone, created_at, custom_attributes,
                                   created_by_import, updated_by_import, updated_at)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9)
            """)
        updateStatement = try database.prepare("""
            UPDATE customers SET email = ?3, name = ?4, phone = ?5, created_at = ?6, custom_attributes = ?7,
                                 updated_by_import = ?8, updated_at = ?9
            WHERE partner = ?1 AND external_id = ?2
            """)
        // The values before (for undo) and after (for history) of each change an import makes.
        recordChange = try database.prepare("""
            INSERT INTO customer_changes (import_id, partner, external_id, action, before, after, changed_at)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
            """)
    }

    /// Creates the customer, or merges the given values into the stored ones (given fields set,
    /// empty ones kept; custom attributes merged key by key with `json_patch`, RFC 7396). A row
    /// whose merge equals what is stored is `unchanged` and not written.
    public func upsert(_ update: CustomerUpdate, mode: ImportMode = .merge, importID: Int64, now: String) throws(SQLiteError) -> UpsertResult {
        lookup.reset()
        try lookup.bind(.text(partner), at: 1)
        try lookup.bind(.text(update.externalID), at: 2)
        try lookup.bind(.text(update.attributesJSON), at: 3)
        guard try lookup.step() else {
            lookup.reset()
            if mode == .updateOnly { return .notFound }
            try insert.run([
                    .text(partner), .text(update.externalID), SQLValue(update.email), SQLValue(update.name),
                    SQLValue(update.phone), SQLValue(update.createdAt), .text(update.attributesJSON), .integer(importID), .text(now),
                ])
            try recordChange.run([
                .integer(importID), .text(partner), .text(update.externalID), .text("created"), .null,
                .text(Self.snapshot(update.email, update.name, update.phone, update.createdAt, update.attributesJSON)), .text(now),
            ])
            return .created
        }
        let stored = (email: lookup.text(0), name: lookup.text(1), phone: lookup.text(2), createdAt: lookup.text(3), attributes: lookup.text(4) ?? "{}")
        let storedBy = lookup.isNull(7) ? SQLValue.null : .integer(lookup.int(7)), storedAt = SQLValue(lookup.text(8))
        let merged: (email: String?, name: String?, phone: String?, createdAt: String?, attributes: String)
        switch mode {
        case .createOnly:
            lookup.reset()
            return .alreadyExists
        case .skipExisting:
            lookup.reset()
            return .skipped
        case .replace:
            merged = (update.email, update.name, update.phone, update.createdAt, lookup.text(6) ?? "{}")
        case .merge, .updateOnly:
            merged = (update.email ?? stored.email, update.name ?? stored.name, update.phone ?? stored.phone,
                      update.createdAt ?? stored.createdAt, lookup.text(5) ?? stored.attributes)
        }
        lookup.reset()
        if merged.email == stored.email && merged.name == stored.name && merged.phone == stored.phone
            && merged.createdAt == stored.createdAt && merged.attributes == stored.attributes {
            return .unchanged
        }
        try updateStatement.run([
                .text(partner), .text(update.externalID), SQLValue(merged.email), SQLValue(merged.name), SQLValue(merged.phone),
                SQLValue(merged.createdAt), .text(merged.attributes), .integer(importID), .text(now),
            ])
        try recordChange.run([
            .integer(importID), .text(partner), .text(update.externalID), .text("updated"),
            .text(Self.snapshot(stored.email, stored.name, stored.phone, stored.createdAt, stored.attributes, updatedBy: storedBy, updatedAt: storedAt)),
            .text(Self.snapshot(merged.email, merged.name, merged.phone, merged.createdAt, merged.attributes)), .text(now),
        ])
        return .updated
    }

    /// A customer's values as the JSON object `customer_changes` keeps (the same shape SQLite's
    /// `json_object` gives), built here because it runs for every changed row.
    static func snapshot(_ email: String?, _ name: String?, _ phone: String?, _ createdAt: String?, _ attributes: String,
                         updatedBy: SQLValue? = nil, updatedAt: SQLValue? = nil) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(128 + attributes.utf8.count)
        func field(_ key: StaticString, _ value: String?, first: Bool = false) {
            out.append(first ? UInt8(ascii: "{") : UInt8(ascii: ","))
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: UnsafeBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount))
            out.append(contentsOf: "\":".utf8)
            if let value { JSON.appendString(value, to: &out) } else { out.append(contentsOf: "null".utf8) }
        }
        field("email", email, first: true)
        field("name", name)
        field("phone", phone)
        field("created_at", createdAt)
        out.append(contentsOf: ",\"custom_attributes\":".utf8)
        out.append(contentsOf: attributes.utf8)
        if let updatedBy {
            out.append(contentsOf: ",\"updated_by_import\":".utf8)
            if case .integer(let id) = updatedBy { out.append(contentsOf: String(id).utf8) } else { out.append(contentsOf: "null".utf8) }
            if case .text(let at)? = updatedAt { field("updated_at", at) } else { field("updated_at", nil) }
        }
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }

    /// Every customer of the partner, by external_id, streamed to `body`.
    public func forEach(_ body: (StoredCustomer) throws -> Void) throws {
        let statement = try database.prepare("""
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

/// Remembers which external_ids a file has already used, in a temporary table so memory stays
/// flat however many rows the file has.
public final class SeenIDs {
    private let database: Database
    private let record: Statement

    public init(database: Database) throws(SQLiteError) {
        self.database = database
        try database.execute("""
            CREATE TEMP TABLE IF NOT EXISTS import_seen (external_id TEXT PRIMARY KEY, row INTEGER NOT NULL) WITHOUT ROWID;
            DELETE FROM temp.import_seen;
            """)
        record = try database.prepare("INSERT INTO temp.import_seen (external_id, row) VALUES (?1, ?2) ON CONFLICT DO NOTHING")
    }

    /// Records `externalID` at `row`; returns the row it was first seen at, if this is a repeat.
    public func firstSeen(_ externalID: String, row: Int) throws(SQLiteError) -> Int? {
        try record.run([.text(externalID), .integer(Int64(row))])
        if database.changes == 1 { return nil }
        return try database.scalar("SELECT row FROM temp.import_seen WHERE external_id = ?1", [.text(externalID)]).map(Int.init)
    }
}
