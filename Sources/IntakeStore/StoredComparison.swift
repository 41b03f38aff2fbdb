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
    /// `before`: the change record's UTF-8 (see ``changeRecord(_:of:)``).
    case changes(attributes: String?, before: [UInt8])

    /// How `customer` compares with `stored`; `replace` sets every field (empty ones too) and
    /// the attributes whole, otherwise empty fields keep the stored value and attributes are
    /// merged key by key.
    init(_ customer: CustomerUpdate, with stored: StoredRow, replace: Bool, merger: AttributeMerger) throws(SQLiteError) {
        func replaces(_ text: StoredRow.Text, _ given: String?) -> Bool {
            // In merge an empty cell keeps the stored value (the UPDATE's coalesce keeps it too).
            !(given == nil && !replace) && !stored.holds(text, sameAs: given)
        }
        var replaced = ReplacedValues(email: replaces(.email, customer.email), name: replaces(.name, customer.name),
                                      phone: replaces(.phone, customer.phone), createdAt: replaces(.createdAt, customer.createdAt))
        // What the UPDATE sets as the attributes; nil keeps them (merge).
        var attributes: String? = replace ? customer.attributesJSON : nil
        let merged = replace ? customer.attributesJSON : try merger.merge(customer.attributesJSON, into: stored)
        if let merged, !stored.holds(.attributes, sameAs: merged) {
            replaced.attributes = true
            attributes = merged
        }
        guard replaced.any else {
            self = .unchanged
            return
        }
        self = .changes(attributes: attributes, before: Self.changeRecord(replaced, of: stored))
    }

    /// About what this holds in memory beyond the row it compares.
    public var byteCount: Int {
        switch self {
        case .unchanged: 0
        case .changes(let attributes, let before): 32 + (attributes?.utf8.count ?? 0) + before.count
        }
    }

    /// Which stored values an update replaces, each compared as bytes with what it sets.
    struct ReplacedValues {
        var email: Bool, name: Bool, phone: Bool, createdAt: Bool
        /// Whether any of the attributes changes (then the record keeps them whole).
        var attributes = false

        /// Whether the update changes any value; if not, the row is unchanged.
        var any: Bool { email || name || phone || createdAt || attributes }
    }

    /// The `before` of an update's change record: the values the update replaced
    /// (`custom_attributes` whole when any of it changed), and what undo puts back besides (who
    /// last changed the customer, when, from which row). Built here, member by member, from the
    /// stored bytes, because it runs for every changed row.
    ///
    /// The values after are not kept: they are the customer's row until the next change, whose
    /// own record holds them as its `before` (see ``ChangeValues``), so a change record costs the
    /// fields that changed.
    static func changeRecord(_ replaced: ReplacedValues, of stored: StoredRow) -> [UInt8] {
        var json = JSONWriter(capacity: 128 + stored.byteCount)
        json.beginObject()
        func member(_ name: String, _ text: StoredRow.Text, _ isReplaced: Bool) {
            if isReplaced { stored.withBytes(text) { json.member(name, bytes: $0) } }
        }
        member("email", .email, replaced.email)
        member("name", .name, replaced.name)
        member("phone", .phone, replaced.phone)
        member("created_at", .createdAt, replaced.createdAt)
        if replaced.attributes { stored.withBytes(.attributes) { json.member("custom_attributes", raw: $0 ?? UnsafeBufferPointer(start: nil, count: 0)) } }
        json.member("updated_by_import", number: stored.updatedBy)
        member("updated_at", .updatedAt, true)
        json.member("import_row", number: stored.importRow)
        json.endObject()
        return json.bytes
    }
}

/// Merges a row's custom attributes into the stored ones key by key (RFC 7396), with SQLite's
/// `json_patch` on its owner's connection, or without it where its result is known
/// (``SameKeys``).
struct AttributeMerger {
    private let patch: Statement

    init(database: Database) throws(SQLiteError) {
        patch = try database.cachedStatement("SELECT json_patch(?1, ?2)")
    }

    /// `given` merged into `stored`. The given object holds string values only, so when it is
    /// empty or equal to the stored text the merge is the stored object itself; that is the
    /// common case (a file imported again) and needs no JSON work. The next most common, a
    /// re-sent row with other values under the same keys, is the given object itself.
    /// Returns nil when the merge leaves the stored attributes as they are.
    func merge(_ given: String, into stored: StoredRow) throws(SQLiteError) -> String? {
        if given == "{}" || stored.holds(.attributes, sameAs: given) { return nil }
        if stored.withBytes(.attributes, { SameKeys.merge(of: given, into: $0 ?? UnsafeBufferPointer(start: nil, count: 0)) }) {
            assert(String.sameBytes(try? patched(given, into: stored), given), "json_patch(\(stored.string(.attributes) ?? ""), \(given)) is not the patch")
            return given
        }
        return try patched(given, into: stored)
    }

    /// `given` merged into `stored`'s attributes by SQLite; nil (keep them) if it gave nothing.
    func patched(_ given: String, into stored: StoredRow) throws(SQLiteError) -> String? {
        try stored.withBytes(.attributes) { (bytes) throws(SQLiteError) in try patch.bind(utf8: bytes, at: 1) }
        try patch.bind(given, at: 2)
        defer { patch.rewind() }
        _ = try patch.step()
        return patch.text(0)
    }
}
