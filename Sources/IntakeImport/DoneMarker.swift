/// The name of the marker that says a data file is complete (Camel's `doneFileName`): a template
/// in which `{name}` stands for the data file's name, like `"{name}.done"` or `"{name}.ok"`.
public struct DoneMarker: Sendable, Equatable {
    public let prefix: String
    public let suffix: String

    /// Nil unless `template` holds `{name}` exactly once and more besides, with no `/`.
    public init?(template: String) {
        guard let slot = template.firstRange(of: "{name}") else { return nil }
        prefix = String(template[..<slot.lowerBound])
        suffix = String(template[slot.upperBound...])
        guard !(prefix.isEmpty && suffix.isEmpty), !suffix.contains("{name}"), !template.contains("/") else { return nil }
        // A marker named like a temporary upload (`.{name}`, `{name}.part`) would never be seen.
        guard !UploadNames.isTemporary(prefix + "list.csv" + suffix) else { return nil }
    }

    /// The marker of data file `name`.
    public func marker(for name: String) -> String { prefix + name + suffix }

    /// The data file whose marker `name` is, or nil when `name` is not a marker.
    public func dataFile(ofMarker name: String) -> String? {
        guard name.count > prefix.count + suffix.count, name.hasPrefix(prefix), name.hasSuffix(suffix) else { return nil }
        return String(name.dropFirst(prefix.count).dropLast(suffix.count))
    }
}
