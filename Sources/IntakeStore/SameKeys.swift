/// Whether a merge of custom attributes (RFC 7396, SQLite's `json_patch`) would give the patch's
/// own text, which is the common case of a re-sent file: a partner's columns are the same every
/// night, so the row's attributes name the stored keys in the stored order and only values differ.
///
/// That holds when both are flat objects of strings with the same keys in the same order: the
/// merge then replaces every stored value, keeps the stored order, and SQLite renders each member
/// from the text it parsed, without spaces. The check is strict where SQLite is lenient, so that
/// anything it is unsure of goes to `json_patch` instead:
/// - the patch must be compact (no spaces between tokens), as Intake writes it;
/// - keys have no escapes (SQLite 3.40 compares keys as written, later versions as decoded) and
///   no key appears twice (SQLite patches only the first of a repeated key);
/// - values are strings with RFC 8259's escapes only and no raw control characters (which SQLite
///   refuses, or, from 3.42, accepts as JSON5 and renders differently);
/// - the target may have spaces between tokens: they are not part of the merge's text.
enum SameKeys {
    /// More members than this go to `json_patch` (the check of repeated keys is quadratic).
    static let maxMembers = 64

    /// True when merging `patch` into `target` gives `patch`'s text exactly (see above).
    static func merge(of patch: String, into target: String) -> Bool {
        target.withUTF8Bytes { merge(of: patch, into: $0) }
    }

    /// True when merging `patch` into the object whose text is `target` gives `patch`'s text.
    static func merge(of patch: String, into target: UnsafeBufferPointer<UInt8>) -> Bool {
        patch.withUTF8Bytes { match($0, target) }
    }

    private static func match(_ patchBytes: UnsafeBufferPointer<UInt8>, _ targetBytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var patch = Scanner(bytes: patchBytes, compact: true), target = Scanner(bytes: targetBytes, compact: false)
        guard patch.take(UInt8(ascii: "{")), target.take(UInt8(ascii: "{")) else { return false }
        return withUnsafeTemporaryAllocation(of: Range<Int>.self, capacity: maxMembers) { keys in
            var count = 0
            while true {
                guard count < maxMembers,
                      let key = patch.string(escapes: false), let targetKey = target.string(escapes: false),
                      patchBytes[key].elementsEqual(targetBytes[targetKey]) else { return false }
                for earlier in keys[0..<count] where patchBytes[earlier].elementsEqual(patchBytes[key]) { return false }
                keys[count] = key
                count += 1
                guard patch.take(UInt8(ascii: ":")), target.take(UInt8(ascii: ":")),
                      patch.string(escapes: true) != nil, target.string(escapes: true) != nil else { return false }
                if patch.take(UInt8(ascii: "}")) {
                    return target.take(UInt8(ascii: "}")) && patch.atEnd && target.atEnd
                }
                guard patch.take(UInt8(ascii: ",")), target.take(UInt8(ascii: ",")) else { return false }
            }
        }
    }

    /// A cursor over one object's bytes: plain stored state and mutating methods.
    private struct Scanner {
        let bytes: UnsafeBufferPointer<UInt8>
        /// No spaces allowed between tokens.
        let compact: Bool
        var index = 0

        mutating func skipSpace() {
            guard !compact else { return }
            while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x09 || bytes[index] == 0x0A || bytes[index] == 0x0D {
                index += 1
            }
        }

        /// Moves past `byte`, and the spaces before and after it; false when it is not next.
        mutating func take(_ byte: UInt8) -> Bool {
            skipSpace()
            guard index < bytes.count, bytes[index] == byte else { return false }
            index += 1
            skipSpace()
            return true
        }

        var atEnd: Bool { index == bytes.count }

        /// Moves past a string that starts here and returns its range, quotes included; nil when
        /// there is none, or it has a raw control character, an escape outside RFC 8259's, or any
        /// escape at all without `escapes`.
        mutating func string(escapes: Bool) -> Range<Int>? {
            let start = index
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return nil }
            index += 1
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    index += 1
                    return start..<index
                }
                if byte < 0x20 { return nil }
                if byte == UInt8(ascii: "\\") {
                    guard escapes, index + 1 < bytes.count else { return nil }
                    switch bytes[index + 1] {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                         UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                        index += 2
                    case UInt8(ascii: "u"):
                        guard index + 5 < bytes.count, bytes[index + 2..<index + 6].allSatisfy(\.isHexDigit) else { return nil }
                        index += 6
                    default:
                        return nil
                    }
                } else {
                    index += 1
                }
            }
            return nil
        }
    }
}

extension UInt8 {
    fileprivate var isHexDigit: Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(self)
            || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(self)
    }
}
