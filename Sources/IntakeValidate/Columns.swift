import IntakeRead

/// The five columns every partner file must have.
public enum RequiredColumn: String, CaseIterable, Sendable {
    case externalID = "external_id"
    case email
    case name
    case phone
    case createdAt = "created_at"

    /// Its place in `allCases`, for tables indexed by column.
    var position: Int {
        switch self {
        case .externalID: 0
        case .email: 1
        case .name: 2
        case .phone: 3
        case .createdAt: 4
        }
    }
}

/// Why a whole file is refused before any row is looked at.
public struct ColumnError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
    /// A refusal whose `message` names what is wrong with the header.
    public init(message: String) { self.message = message }
}

/// Where each required column and each custom attribute sits in a file's header.
///
/// Header names are matched trimmed and case-insensitively; an attribute keeps the name as the
/// partner wrote it (trimmed), which becomes its key in `custom_attributes`.
public struct ColumnMap: Sendable {
    /// Index of each required column in the row.
    public let required: [RequiredColumn: Int]
    /// Custom attributes: key and row index, in header order.
    public let attributes: [(key: String, index: Int)]
    /// The header as written, for the result workbook.
    public let header: [String]

    /// Maps `header`; `aliases` maps a partner's header name (any case) onto a required column
    /// name or onto an attribute key.
    /// - Throws: ``ColumnError`` listing what is missing and what was found, for an empty or a
    ///   duplicated column name, or a missing required column.
    public init(header: [String], aliases: [String: String] = [:]) throws(ColumnError) {
        self.header = header
        // Two aliases that differ only in case or spaces name one column: the first by name wins,
        // the same in every process (a dictionary's own order changes from one run to the next).
        let aliasByKey = Dictionary(aliases.sorted { $0.key < $1.key }.map { (Self.key($0.key), $0.value.trimmed) }, uniquingKeysWith: { a, _ in a })
        var required: [RequiredColumn: Int] = [:]
        var attributes: [(String, Int)] = []
        var seen: [String: Int] = [:]
        let found = header.map { "\"\($0.trimmed)\"" }.joined(separator: ", ")

        for (index, raw) in header.enumerated() {
            let written = raw.trimmed
            let letter = ColumnName.letters(index)
            guard !written.isEmpty else {
                throw ColumnError(message: "column \(letter) has no name; every column needs a header (found: \(found))")
            }
            let name = aliasByKey[Self.key(written)] ?? written
            let key = Self.key(name)
            if let first = seen[key] {
                throw ColumnError(message: "the column \"\(written)\" appears twice, in columns \(ColumnName.letters(first)) and \(letter) (found: \(found))")
            }
            seen[key] = index
            if let column = RequiredColumn(rawValue: key) {
                required[column] = index
            } else {
                attributes.append((name, index))
            }
        }
        let missing = RequiredColumn.allCases.filter { required[$0] == nil }
        guard missing.isEmpty else {
            let names = missing.map(\.rawValue).joined(separator: ", ")
            throw ColumnError(message: "missing required column\(missing.count > 1 ? "s" : ""): \(names) (found: \(found))")
        }
        self.required = required
        self.attributes = attributes
    }

    private static func key(_ name: String) -> String { name.trimmed.lowercased() }
}

extension String {
    /// Without leading and trailing white space (including non-breaking spaces Excel users type).
    var trimmed: String {
        // Fast path: most cells start and end with a character that cannot be white space,
        // told from its first UTF-8 byte without looking up Unicode properties (a name such as
        // "Анна Петрова" starts and ends with one).
        let utf8 = self.utf8
        guard let head = utf8.first else { return self }
        var lastStart = utf8.index(before: utf8.endIndex)
        while lastStart > utf8.startIndex && utf8[lastStart] & 0xC0 == 0x80 { lastStart = utf8.index(before: lastStart) }
        if Self.leadsNonSpace(head) && Self.leadsNonSpace(utf8[lastStart]) { return self }
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })!
        if first == scalars.startIndex && last == scalars.index(before: scalars.endIndex) { return self }
        return String(scalars[first...last])
    }

    /// Whether a scalar whose UTF-8 encoding starts with `byte` is certainly not white space.
    /// White space is ASCII up to the space, or starts with 0xC2 (U+0085, U+00A0), 0xE1 (U+1680),
    /// 0xE2 (U+2000-U+205F) or 0xE3 (U+3000); DEL and those are left to the Unicode check.
    private static func leadsNonSpace(_ byte: UInt8) -> Bool {
        if byte < 0x80 { return byte > 0x20 && byte < 0x7F }
        return byte != 0xC2 && byte != 0xE1 && byte != 0xE2 && byte != 0xE3
    }
}
