import IntakeSystem

extension CustomerWriter {
    /// A customer's values as the JSON object `customer_changes` keeps (the same shape SQLite's
    /// `json_object` gives), built here because it runs for every changed row. `restoring` adds
    /// what undo puts back besides the values: who last changed the customer, when, from which row.
    static func snapshot(_ email: String?, _ name: String?, _ phone: String?, _ createdAt: String?, _ attributes: String,
                         restoring: (updatedBy: Int64?, updatedAt: String?, row: Int64?)? = nil) -> String {
        var json = JSONWriter(capacity: 160 + attributes.utf8.count)
        json.beginObject()
        // Member by member, not a loop over an array of pairs: this runs for every changed row.
        json.key("email")
        json.string(email)
        json.key("name")
        json.string(name)
        json.key("phone")
        json.string(phone)
        json.key("created_at")
        json.string(createdAt)
        json.key("custom_attributes")
        json.raw(attributes)
        if let restoring {
            json.key("updated_by_import")
            json.number(restoring.updatedBy)
            json.key("updated_at")
            json.string(restoring.updatedAt)
            json.key("import_row")
            json.number(restoring.row)
        }
        json.endObject()
        return json.text
    }
}
