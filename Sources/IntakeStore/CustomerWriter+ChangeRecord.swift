import IntakeSystem

extension CustomerWriter {
    /// A customer's five values as this writer compares and stores them.
    typealias Values = (email: String?, name: String?, phone: String?, createdAt: String?, attributes: String)

    /// The `before` of an update's change record: the values the update replaced, only those that
    /// differ from `merged` as bytes (`custom_attributes` whole when any of it changed; see
    /// `String.sameBytes`), and what undo puts back besides (who last changed the customer, when,
    /// from which row); nil when no value differs, which makes the row unchanged. Built here,
    /// member by member, because it runs for every changed row.
    ///
    /// The values after are not kept: they are the customer's row until the next change, whose
    /// own record holds them as its `before` (see ``ChangeValues``), so a change record costs the
    /// fields that changed.
    static func changeRecord(stored: Values, merged: Values, restoring: (updatedBy: Int64?, updatedAt: String?, row: Int64?)) -> String? {
        let email = !String.sameBytes(stored.email, merged.email), name = !String.sameBytes(stored.name, merged.name)
        let phone = !String.sameBytes(stored.phone, merged.phone), createdAt = !String.sameBytes(stored.createdAt, merged.createdAt)
        let attributes = !String.sameBytes(stored.attributes, merged.attributes)
        guard email || name || phone || createdAt || attributes else { return nil }
        var json = JSONWriter(capacity: 128 + (attributes ? stored.attributes.utf8.count : 0))
        json.beginObject()
        if email { json.member("email", stored.email) }
        if name { json.member("name", stored.name) }
        if phone { json.member("phone", stored.phone) }
        if createdAt { json.member("created_at", stored.createdAt) }
        if attributes { json.member("custom_attributes", raw: stored.attributes) }
        json.member("updated_by_import", number: restoring.updatedBy)
        json.member("updated_at", restoring.updatedAt)
        json.member("import_row", number: restoring.row)
        json.endObject()
        return json.text
    }
}
