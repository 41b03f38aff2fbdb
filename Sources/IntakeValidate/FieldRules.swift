/// The rules for each required field. Each returns the normalized value to store, or throws a
/// ``FieldError`` whose message names what is wrong (the caller adds the column and value).
public enum FieldRules {
    /// Which version of these rules (and of the timestamp parsing) stored values come from: a row
    /// digest (IntakeImport's `RowDigester`) includes it, so rows stored under earlier rules are
    /// validated again rather than taken as unchanged. Bump it with any change to what a cell
    /// becomes; `FieldRulesRevisionTests` fails until it is bumped.
    public static let revision = 1

    public static let maxExternalIDLength = 255
    /// Bytes of UTF-8 an external_id may take: characters alone do not bound it, since one
    /// character can carry any number of combining marks.
    public static let maxExternalIDBytes = 1_024

    /// Trimmed, non-empty, at most 255 characters and 1,024 bytes of UTF-8.
    public static func externalID(_ raw: String) throws(FieldError) -> String {
        let value = raw.trimmed
        if value.isEmpty { throw FieldError("is empty; every row needs an external_id") }
        if value.count > maxExternalIDLength { throw FieldError("is longer than \(maxExternalIDLength) characters") }
        if value.utf8.count > maxExternalIDBytes { throw FieldError("is longer than \(maxExternalIDBytes) bytes of UTF-8 (combining marks count)") }
        return value
    }

    /// One `@`; a local part of at most 64 and an address of at most 254 characters; a domain
    /// of valid labels. Real addresses pass: `+` tags, apostrophes, long TLDs, internationalized
    /// (for example Cyrillic) domains and local parts. Stored trimmed, domain lower-cased.
    public static func email(_ raw: String) throws(FieldError) -> String {
        let value = raw.trimmed
        if let fast = asciiEmail(value) { return fast }
        return try fullEmailCheck(value)
    }

    /// The Unicode-aware check, which also words the error.
    static func fullEmailCheck(_ value: String) throws(FieldError) -> String {
        // Split on the scalar, not on Characters: "@" followed by a combining mark is one
        // Character that a Character split would not see as an @.
        let scalars = value.unicodeScalars
        let ats = scalars.indices.filter { scalars[$0] == "@" }
        guard ats.count == 1, let at = ats.first else {
            throw FieldError(ats.isEmpty ? "is not an email address: it has no @" : "is not an email address: it has more than one @")
        }
        let local = Substring(scalars[..<at]), domain = Substring(scalars[scalars.index(after: at)...])
        if local.isEmpty { throw FieldError("is not an email address: nothing before the @") }
        if domain.isEmpty { throw FieldError("is not an email address: nothing after the @") }
        if local.unicodeScalars.count > 64 { throw FieldError("is not an email address: the part before the @ is longer than 64 characters") }
        if value.unicodeScalars.count > 254 { throw FieldError("is not an email address: it is longer than 254 characters") }
        if local.hasPrefix(".") || local.hasSuffix(".") || local.contains("..") {
            throw FieldError("is not an email address: dots before the @ must not lead, trail or repeat")
        }
        let forbiddenInLocal: Set<Unicode.Scalar> = [" ", "\"", "(", ")", ",", ":", ";", "<", ">", "[", "\\", "]"]
        if let bad = local.unicodeScalars.first(where: { forbiddenInLocal.contains($0) || $0.value < 0x20 || $0.value == 0x7F }) {
            throw FieldError("is not an email address: the part before the @ contains \(describe(bad))")
        }
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 2 else { throw FieldError("is not an email address: the domain \"\(domain)\" has no dot") }
        for label in labels {
            if label.isEmpty { throw FieldError("is not an email address: the domain \"\(domain)\" has an empty label") }
            if label.unicodeScalars.count > 63 { throw FieldError("is not an email address: a domain label is longer than 63 characters") }
            if label.hasPrefix("-") || label.hasSuffix("-") { throw FieldError("is not an email address: a domain label starts or ends with a hyphen") }
            if let bad = label.unicodeScalars.first(where: { !($0 == "-" || $0.properties.isAlphabetic || $0.properties.numericType != nil || $0.properties.generalCategory == .nonspacingMark) }) {
                throw FieldError("is not an email address: the domain contains \(describe(bad))")
            }
        }
        if labels.last!.allSatisfy(\.isNumber) { throw FieldError("is not an email address: the top-level domain is numeric") }
        return "\(local)@\(domain.lowercased())"
    }

    /// The common case, decided in one pass over the bytes: a plain ASCII address that passes
    /// every rule. Returns nil whenever anything needs the full (Unicode-aware) check, which also
    /// produces the precise error message. An address whose domain is already lower case comes
    /// back as the same string, without a copy.
    static func asciiEmail(_ value: String) -> String? {
        var localCount = 0
        var domainCount = 0
        var domainHasDot = false
        var domainHasUpper = false
        var inDomain = false
        var previous: UInt8 = 0
        var labelLength = 0
        var labelStart = true
        var lastLabelAllDigits = true
        for b in value.utf8 {
            if b >= 0x80 { return nil }
            if b == UInt8(ascii: "@") {
                if inDomain || localCount == 0 || localCount > 64 || previous == UInt8(ascii: ".") { return nil }
                inDomain = true
                previous = b
                continue
            }
            if !inDomain {
                // Local part: printable ASCII except the specials RFC 5322 reserves; no "..".
                if b <= 0x20 || b == 0x7F || b == UInt8(ascii: "\"") || b == UInt8(ascii: "(") || b == UInt8(ascii: ")")
                    || b == UInt8(ascii: ",") || b == UInt8(ascii: ":") || b == UInt8(ascii: ";") || b == UInt8(ascii: "<")
                    || b == UInt8(ascii: ">") || b == UInt8(ascii: "[") || b == UInt8(ascii: "\\") || b == UInt8(ascii: "]") { return nil }
                if b == UInt8(ascii: ".") && (localCount == 0 || previous == UInt8(ascii: ".")) { return nil }
                localCount += 1
            } else {
                domainCount += 1
                if b == UInt8(ascii: ".") {
                    if labelLength == 0 || previous == UInt8(ascii: "-") { return nil }
                    labelLength = 0
                    labelStart = true
                    lastLabelAllDigits = true
                    domainHasDot = true
                    previous = b
                    continue
                }
                let isDigit = b >= 0x30 && b <= 0x39
                let isLetter = (b | 0x20) >= 0x61 && (b | 0x20) <= 0x7A
                guard isDigit || isLetter || b == UInt8(ascii: "-") else { return nil }
                if b == UInt8(ascii: "-") && labelStart { return nil }
                if !isDigit { lastLabelAllDigits = false }
                if isLetter && b < 0x61 { domainHasUpper = true }
                labelStart = false
                labelLength += 1
                if labelLength > 63 { return nil }
            }
            previous = b
        }
        guard inDomain, labelLength > 0, previous != UInt8(ascii: "-"), !lastLabelAllDigits,
              domainHasDot, localCount + 1 + domainCount <= 254 else { return nil }
        if !domainHasUpper { return value }
        var lowered = Array(value.utf8)
        for i in (lowered.count - domainCount)..<lowered.count where lowered[i] >= 0x41 && lowered[i] <= 0x5A { lowered[i] |= 0x20 }
        return String(decoding: lowered, as: UTF8.self)
    }

    /// Spaces, dashes, dots and parentheses removed; then an optional `+` and 5 to 15 digits.
    public static func phone(_ raw: String) throws(FieldError) -> String {
        // Already normal (digits, an optional leading +): kept as it is, without a copy.
        var digitCount = 0
        var plain = true
        for (i, b) in raw.utf8.enumerated() {
            if b >= 0x30 && b <= 0x39 { digitCount += 1 } else if !(b == UInt8(ascii: "+") && i == 0) { plain = false; break }
        }
        if plain && (5...15).contains(digitCount) { return raw }
        // Fast path over the bytes; anything unusual takes the path that explains the error.
        var bytes: [UInt8] = []
        bytes.reserveCapacity(16)
        var simple = true
        // A + only leads: nothing but blanks or an opening parenthesis may come before it
        // (`(+49) 30…` is a phone; `-+7…`, `7+…` and `++7…` are errors).
        var started = false
        for b in raw.utf8 {
            switch b {
            case 0x30...0x39: bytes.append(b)
            case UInt8(ascii: "+") where !started: bytes.append(b)
            case UInt8(ascii: " "), UInt8(ascii: "\t"): continue
            case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "("), UInt8(ascii: ")"): break
            default: simple = false
            }
            if !simple { break }
            if b != UInt8(ascii: "(") { started = true }
        }
        if simple {
            let digits = bytes.first == UInt8(ascii: "+") ? bytes.count - 1 : bytes.count
            if (5...15).contains(digits) { return String(decoding: bytes, as: UTF8.self) }
        }
        var out = ""
        started = false
        for c in raw.trimmed {
            defer { if !["(", " ", "\t", "\u{00A0}"].contains(c) { started = true } }
            switch c {
            case " ", "-", ".", "(", ")", "\u{00A0}", "\t": continue
            case "+" where !started: out.append(c)
            // ASCII only: "7" followed by a combining mark is one Character that a range of
            // Characters would let through.
            case "0"..."9" where c.isASCII: out.append(c)
            default: throw FieldError("is not a phone number: \(describe(c)) is not allowed (use digits, an optional leading +, spaces, dashes, dots, parentheses)")
            }
        }
        let digits = out.hasPrefix("+") ? out.count - 1 : out.count
        guard (5...15).contains(digits) else {
            throw FieldError("is not a phone number: it has \(digits) digits, a phone number has 5 to 15")
        }
        return out
    }

    private static func describe(_ scalar: Unicode.Scalar) -> String {
        scalar.value < 0x20 || scalar.value == 0x7F || scalar == " "
            ? "the character U+\(String(scalar.value, radix: 16, uppercase: true))" : "\"\(scalar)\""
    }

    private static func describe(_ c: Character) -> String {
        c.unicodeScalars.count == 1 ? describe(c.unicodeScalars.first!) : "\"\(c)\""
    }
}

/// What is wrong with one field's value; ``RowValidator`` adds the column and the value.
public struct FieldError: Error, Sendable, Equatable {
    public var reason: String
    /// An error whose `reason` reads on from the column and value, as in `is empty; every row needs an
    /// external_id`.
    public init(_ reason: String) { self.reason = reason }
}
