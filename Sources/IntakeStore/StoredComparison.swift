import IntakeSystem

/// What a file's row does to its customer's stored values in a mode that writes existing
/// customers (merge, replace, update-only): nothing, or an update, with the attributes it sets
/// and the change record that undoes it.
///
/// The writer works it out for the rows it looks up; the validating thread works it out ahead
/// of the writer for the rows whose customers it read ahead (see ``StoredDigests``), which
/// takes the comparison, the attribute merge and the change record's JSON off the storing
/// thread, the one that bounds an edited file. Both run this one function on the same values
/// with the same SQLite's `json_patch`, so where it ran changes neither the verdict nor a byte
/// stored.
public enum StoredComparison: Sendable {
    /// Every value the row gives equals the stored one (under the mode).
    case unchanged
    /// `attributes`: what the `UPDATE` sets as `custom_attributes`, nil to keep them (merge);
    /// `before`: the change record (see ``changeRecord(_:restoring:)``).
    case changes(attributes: String?, before: String)

    /// How `customer` compares with `stored`; `replace` sets every field (empty ones too) and
    /// the attributes whole, otherwise empty fields keep the stored value and attributes are
    /// merged key by key.
    init(_ customer: CustomerUpdate, with stored: StoredRow, replace: Bool, merger: AttributeMerger) throws(SQLiteError) {
        func compared(_ stored: String?, _ given: String?) -> ReplacedValues.Stored {
            // In merge an empty cell keeps the stored value (the UPDATE's coalesce keeps it too).
            (given == nil && !replace) || String.sameBytes(stored, given) ? .kept : .replaced(stored)
        }
        var replaced = ReplacedValues(email: compared(stored.email, customer.email), name: compared(stored.name, customer.name),
                                      phone: compared(stored.phone, customer.phone), createdAt: compared(stored.createdAt, customer.createdAt))
        // What the UPDATE sets as the attributes; nil keeps them (merge).
        var attributes: String? = replace ? customer.attributesJSON : nil
        let merged = replace ? customer.attributesJSON : try merger.merge(customer.attributesJSON, into: stored.attributes)
        if !String.sameBytes(merged, stored.attributes) {
            replaced.attributes = stored.attributes
            attributes = merged
        }
        guard replaced.any else {
            self = .unchanged
            return
        }
        self = .changes(attributes: attributes, before: Self.changeRecord(replaced, restoring: (updatedBy: stored.updatedBy, updatedAt: stored.updatedAt, row: stored.importRow)))
    }

    /// About what this holds in memory beyond the row it compares.
    public var byteCount: Int {
        switch self {
        case .unchanged: 0
        case .changes(let attributes, let before): 32 + (attributes?.utf8.count ?? 0) + before.utf8.count
        }
    }

    /// The stored values an update replaces, each compared as bytes with what it sets (see
    /// `String.sameBytes`).
    struct ReplacedValues {
        enum Stored {
            case kept
            /// The stored value, nil for an empty one.
            case replaced(String?)
        }
        var email: Stored, name: Stored, phone: Stored, createdAt: Stored
        /// The stored attributes when any of them changes.
        var attributes: String? = nil

        /// Whether the update changes any value; if not, the row is unchanged.
        var any: Bool {
            func replaces(_ value: Stored) -> Bool { if case .replaced = value { true } else { false } }
            return replaces(email) || replaces(name) || replaces(phone) || replaces(createdAt) || attributes != nil
        }
    }

    /// The `before` of an update's change record: the values the update replaced
    /// (`custom_attributes` whole when any of it changed), and what undo puts back besides (who
    /// last changed the customer, when, from which row). Built here, member by member, because it
    /// runs for every changed row.
    ///
    /// The values after are not kept: they are the customer's row until the next change, whose
    /// own record holds them as its `before` (see ``ChangeValues``), so a change record costs the
    /// fields that changed.
    static func changeRecord(_ replaced: ReplacedValues, restoring: (updatedBy: Int64?, updatedAt: String?, row: Int64?)) -> String {
        var json = JSONWriter(capacity: 128 + (replaced.attributes?.utf8.count ?? 0))
        json.beginObject()
        func member(_ name: String, _ value: ReplacedValues.Stored) { if case .replaced(let stored) = value { json.member(name, stored) } }
        member("email", replaced.email)
        member("name", replaced.name)
        member("phone", replaced.phone)
        member("created_at", replaced.createdAt)
        if let attributes = replaced.attributes { json.member("custom_attributes", raw: attributes) }
        json.member("updated_by_import", number: restoring.updatedBy)
        json.member("updated_at", restoring.updatedAt)
        json.member("import_row", number: restoring.row)
        json.endObject()
        return json.text
    }
}

/// Merges a row's custom attributes into the stored ones key by key (RFC 7396), with SQLite's
/// `json_patch` on its owner's connection.
struct AttributeMerger {
    private let patch: Statement

    init(database: Database) throws(SQLiteError) {
        patch = try database.cachedStatement("SELECT json_patch(?1, ?2)")
    }

    /// `given` merged into `stored`. The given object holds string values only, so when it is
    /// empty or equal to the stored text the merge is the stored object itself; that is the
    /// common case (a file imported again) and needs no JSON work.
    func merge(_ given: String, into stored: String) throws(SQLiteError) -> String {
        if given == "{}" || String.sameBytes(given, stored) { return stored }
        try patch.bind(stored, at: 1)
        try patch.bind(given, at: 2)
        defer { patch.rewind() }
        _ = try patch.step()
        return patch.text(0) ?? stored
    }
}
