import IntakeSystem

extension CustomerWriter {
    /// A customer's five values as this writer stores them (attributes nil: kept, in merge).
    typealias Values = (email: String?, name: String?, phone: String?, createdAt: String?, attributes: String?)

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
