/// A customer's five values as history shows them, rebuilt from change records.
///
/// An update's record keeps, as `before`, only the values it replaced (records of an older Intake
/// keep all five, and so does an undo's record). So the values before a change are
/// the values after it with its `before` laid over them, and the values after it are the
/// customer's row, or the values before the next change. ``ImportHistory/assemble(changes:current:importInfo:)``
/// walks a customer's changes newest first with this.
///
/// The texts are the compact JSON both stores write (`{"email":…,"name":…,"phone":…,
/// "created_at":…,"custom_attributes":{…}}`); each member's value is kept as its text, never
/// decoded and encoded again, so a rebuilt object reads exactly as the store wrote its parts.
enum ChangeValues {
    /// The members of a customer's values, in the order every store writes them.
    static let keys = ["email", "name", "phone", "created_at", "custom_attributes"]

    /// `values` with the members `before` holds laid over it. With `values` nil, `before`'s own
    /// values when it holds all five. Nil otherwise, or when either text is not a JSON object.
    static func overlay(_ before: String, on values: String?) -> String? {
        guard let replaced = members(of: before) else { return nil }
        var result: [String: String]
        if let values {
            guard let base = members(of: values) else { return nil }
            result = base
        } else {
            result = [:]
        }
        for (key, value) in replaced { result[key] = value }
        guard keys.allSatisfy({ result[$0] != nil }) else { return nil }
        return "{" + keys.map { "\"\($0)\":\(result[$0]!)" }.joined(separator: ",") + "}"
    }

    /// The top-level members of a JSON object among ``keys`` (others, such as `updated_by_import`,
    /// are passed over), each value as its text; nil when `text` is not an object.
    static func members(of text: String) -> [String: String]? {
        guard let object = JSONObjectText(text) else { return nil }
        var result: [String: String] = [:]
        for member in object.members {
            // The keys that matter are plain ASCII, so the text between the quotes is the name.
            let name = object.text(member.key.dropFirst().dropLast())
            if keys.contains(name) { result[name] = object.text(member.value) }
        }
        return result
    }
}
