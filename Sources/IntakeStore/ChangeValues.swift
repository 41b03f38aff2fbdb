/// A customer's five values as history shows them, rebuilt from change records.
///
/// An update's record keeps, as `before`, only the values it replaced (an older Intake, and the
/// PostgreSQL store, keep all five; an undo's record does too). So the values before a change are
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

    /// `values` with the members `before` holds laid over it; nil when `values` is nil or either
    /// text is not a JSON object. With `values` nil, `before` itself when it holds all five.
    static func overlay(_ before: String, on values: String?) -> String? {
        guard let replaced = members(of: before) else { return nil }
        var result: [String: Substring]
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
    static func members(of text: String) -> [String: Substring]? {
        let utf8 = text.utf8
        var index = utf8.startIndex
        func at(_ character: Unicode.Scalar) -> Bool { index != utf8.endIndex && utf8[index] == UInt8(ascii: character) }
        func skipSpace() {
            while index != utf8.endIndex, [0x20, 0x09, 0x0A, 0x0D].contains(utf8[index]) { utf8.formIndex(after: &index) }
        }
        /// Moves past a string that starts at `index`; false when it never ends.
        func skipString() -> Bool {
            utf8.formIndex(after: &index)
            while index != utf8.endIndex, utf8[index] != UInt8(ascii: "\"") {
                if utf8[index] == UInt8(ascii: "\\") { utf8.formIndex(after: &index) }
                if index != utf8.endIndex { utf8.formIndex(after: &index) }
            }
            guard index != utf8.endIndex else { return false }
            utf8.formIndex(after: &index)
            return true
        }
        /// Moves to the comma or brace that ends the member's value (strings and nested values
        /// passed over whole); false when the text ends first or the brackets do not match.
        func skipValue() -> Bool {
            var depth = 0
            while index != utf8.endIndex {
                switch utf8[index] {
                case UInt8(ascii: "\""):
                    guard skipString() else { return false }
                    continue
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    if depth == 0 { return true }
                    depth -= 1
                case UInt8(ascii: ","):
                    if depth == 0 { return true }
                default:
                    break
                }
                utf8.formIndex(after: &index)
            }
            return false
        }
        skipSpace()
        guard at("{") else { return nil }
        utf8.formIndex(after: &index)
        var result: [String: Substring] = [:]
        skipSpace()
        if at("}") { return result }
        while true {
            skipSpace()
            let keyStart = index
            guard at("\""), skipString() else { return nil }
            // The keys that matter are plain ASCII, so the text between the quotes is the name.
            let key = String(text[utf8.index(after: keyStart)..<utf8.index(before: index)])
            skipSpace()
            guard at(":") else { return nil }
            utf8.formIndex(after: &index)
            skipSpace()
            let valueStart = index
            guard skipValue(), index != valueStart else { return nil }
            var valueEnd = index
            while valueEnd != valueStart, [0x20, 0x09, 0x0A, 0x0D].contains(utf8[utf8.index(before: valueEnd)]) { utf8.formIndex(before: &valueEnd) }
            if keys.contains(key) { result[key] = text[valueStart..<valueEnd] }
            if at("}") { return result }
            guard at(",") else { return nil }
            utf8.formIndex(after: &index)
        }
    }
}
