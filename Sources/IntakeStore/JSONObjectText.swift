/// A JSON object's top-level members as byte ranges of its UTF-8 text, in order, without decoding
/// them: for code that moves whole members between objects a store wrote (change records, see
/// ``ChangeValues``) and must keep each member's text as it was written.
struct JSONObjectText {
    /// The object's UTF-8 text.
    let bytes: [UInt8]
    /// Each member's key as written (with its quotes and escapes) and its value's text.
    let members: [(key: Range<Int>, value: Range<Int>)]

    /// The members of `text`; nil when it is not one well-formed JSON object (strings closed,
    /// brackets balanced, members separated; numbers and literals are not checked).
    init?(_ text: String) {
        bytes = Array(text.utf8)
        var scanner = Scanner(bytes: bytes)
        guard let members = scanner.members() else { return nil }
        self.members = members
    }

    /// The text of `range`.
    func text(_ range: Range<Int>) -> String { String(decoding: bytes[range], as: UTF8.self) }

    /// A cursor over the bytes: plain stored state and mutating methods, which compile to index
    /// arithmetic (nested functions capturing a local index would box it).
    private struct Scanner {
        let bytes: [UInt8]
        var index = 0

        static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D }

        func at(_ byte: UInt8) -> Bool { index < bytes.count && bytes[index] == byte }

        mutating func skipSpace() {
            while index < bytes.count, Self.isSpace(bytes[index]) { index += 1 }
        }

        /// Moves past a string that starts at `index`; false when it never ends.
        mutating func skipString() -> Bool {
            index += 1
            while index < bytes.count, bytes[index] != UInt8(ascii: "\"") {
                index += bytes[index] == UInt8(ascii: "\\") ? 2 : 1
            }
            guard index < bytes.count else { return false }
            index += 1
            return true
        }

        /// Moves to the comma or brace that ends a member's value (strings and nested values
        /// passed over whole); false when the text ends first.
        mutating func skipValue() -> Bool {
            var depth = 0
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    guard skipString() else { return false }
                    continue
                }
                if byte == UInt8(ascii: "{") || byte == UInt8(ascii: "[") {
                    depth += 1
                } else if byte == UInt8(ascii: "}") || byte == UInt8(ascii: "]") {
                    if depth == 0 { return true }
                    depth -= 1
                } else if byte == UInt8(ascii: ","), depth == 0 {
                    return true
                }
                index += 1
            }
            return false
        }

        mutating func members() -> [(key: Range<Int>, value: Range<Int>)]? {
            var members: [(key: Range<Int>, value: Range<Int>)] = []
            skipSpace()
            guard at(UInt8(ascii: "{")) else { return nil }
            index += 1
            skipSpace()
            if !at(UInt8(ascii: "}")) {
                while true {
                    skipSpace()
                    let keyStart = index
                    guard at(UInt8(ascii: "\"")), skipString() else { return nil }
                    let key = keyStart..<index
                    skipSpace()
                    guard at(UInt8(ascii: ":")) else { return nil }
                    index += 1
                    skipSpace()
                    let valueStart = index
                    guard skipValue(), index != valueStart else { return nil }
                    var valueEnd = index
                    while valueEnd > valueStart, Self.isSpace(bytes[valueEnd - 1]) { valueEnd -= 1 }
                    members.append((key, valueStart..<valueEnd))
                    if at(UInt8(ascii: "}")) { break }
                    guard at(UInt8(ascii: ",")) else { return nil }
                    index += 1
                }
            }
            index += 1
            skipSpace()
            return index == bytes.count ? members : nil
        }
    }
}
