import IntakeSystem

extension CustomerWriter {
    /// A customer's five values as this writer compares and stores them.
    typealias Values = (email: String?, name: String?, phone: String?, createdAt: String?, attributes: String)

    /// The `before` of an update's change record: the values the update replaced, only those that
    /// differ from `merged` (`custom_attributes` whole when any of it changed), and what undo puts
    /// back besides (who last changed the customer, when, from which row). Built here, member by
    /// member, because it runs for every changed row.
    ///
    /// The values after are not kept: they are the customer's row until the next change, whose
    /// own record holds them as its `before` (see ``ChangeValues``), so a change record costs the
    /// fields that changed.
    static func changeRecord(stored: Values, merged: Values, restoring: (updatedBy: Int64?, updatedAt: String?, row: Int64?)) -> String {
        let attributesChanged = !same(stored.attributes, merged.attributes)
        var json = JSONWriter(capacity: 128 + (attributesChanged ? stored.attributes.utf8.count : 0))
        json.beginObject()
        if !same(stored.email, merged.email) { json.member("email", stored.email) }
        if !same(stored.name, merged.name) { json.member("name", stored.name) }
        if !same(stored.phone, merged.phone) { json.member("phone", stored.phone) }
        if !same(stored.createdAt, merged.createdAt) { json.member("created_at", stored.createdAt) }
        if attributesChanged { json.member("custom_attributes", raw: stored.attributes) }
        json.member("updated_by_import", number: restoring.updatedBy)
        json.member("updated_at", restoring.updatedAt)
        json.member("import_row", number: restoring.row)
        json.endObject()
        return json.text
    }

    /// Whether two values are the same bytes (see `String.sameBytes`).
    static func same(_ a: String?, _ b: String?) -> Bool { String.sameBytes(a, b) }

    /// Whether two customers' values are the same bytes, column by column (see ``same(_:_:)``).
    static func same(_ a: Values, _ b: Values) -> Bool {
        same(a.email, b.email) && same(a.name, b.name) && same(a.phone, b.phone) && same(a.createdAt, b.createdAt) && same(a.attributes, b.attributes)
    }
}
