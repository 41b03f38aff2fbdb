import Crypto
import IntakeStore

/// API tokens: how they are made, hashed and read from a request.
///
/// A token is `itk_` and 43 characters of base64url: 256 random bits from the system's CSPRNG,
/// shown once at creation. The store keeps its SHA-256 only; a request's token is hashed and
/// looked up by that digest, then the digests are compared in constant time, so neither the
/// lookup nor the comparison tells an attacker how close a guess came.
public enum APIToken {
    /// A new random token.
    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return "itk_" + base64URL(bytes)
    }

    /// The hex SHA-256 the store keeps for `token`.
    public static func digest(_ token: String) -> String {
        var hex: [UInt8] = []
        for byte in SHA256.hash(data: Array(token.utf8)) {
            hex.append(hexDigits[Int(byte >> 4)])
            hex.append(hexDigits[Int(byte & 0xF)])
        }
        return String(decoding: hex, as: UTF8.self)
    }

    /// The token of an `Authorization` header: `Token token=...` (the platform's form, quotes
    /// optional) or `Bearer ...`; nil for anything else.
    public static func fromAuthorization(_ header: String) -> String? {
        let trimmed = header.trimmingSpaces
        if let rest = trimmed.droppingPrefix("Bearer ") {
            let token = rest.trimmingSpaces
            return token.isEmpty ? nil : token
        }
        if let rest = trimmed.droppingPrefix("Token ") {
            for part in rest.split(separator: ",") {
                let pair = part.split(separator: "=", maxSplits: 1).map { String($0).trimmingSpaces }
                guard pair.count == 2, pair[0].lowercased() == "token" else { continue }
                var value = pair[1]
                if value.count >= 2 && value.hasPrefix("\"") && value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
                return value.isEmpty ? nil : value
            }
        }
        return nil
    }

    /// Whether two digests are equal, in time that depends on their length only.
    public static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var difference: UInt8 = 0
        for index in x.indices { difference |= x[index] ^ y[index] }
        return difference == 0
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// base64url without padding (RFC 4648 §5): tokens and cursors travel in headers and URLs.
    static func base64URL(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count * 4 + 2) / 3)
        var index = 0
        while index < bytes.count {
            let b0 = UInt32(bytes[index])
            let b1 = index + 1 < bytes.count ? UInt32(bytes[index + 1]) : 0
            let b2 = index + 2 < bytes.count ? UInt32(bytes[index + 2]) : 0
            let group = b0 << 16 | b1 << 8 | b2
            let count = min(3, bytes.count - index) + 1
            for shift in [18, 12, 6, 0].prefix(count) { out.append(alphabet[Int(group >> UInt32(shift) & 0x3F)]) }
            index += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The bytes of base64url text (padding optional); nil when it is not base64url.
    static func fromBase64URL(_ text: String) -> [UInt8]? {
        var values: [UInt8] = []
        for c in text.utf8 where c != UInt8(ascii: "=") {
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): values.append(c - UInt8(ascii: "A"))
            case UInt8(ascii: "a")...UInt8(ascii: "z"): values.append(c - UInt8(ascii: "a") + 26)
            case UInt8(ascii: "0")...UInt8(ascii: "9"): values.append(c - UInt8(ascii: "0") + 52)
            case UInt8(ascii: "-"): values.append(62)
            case UInt8(ascii: "_"): values.append(63)
            default: return nil
            }
        }
        guard values.count % 4 != 1 else { return nil }
        var out: [UInt8] = []
        var index = 0
        while index < values.count {
            let chunk = values[index..<min(index + 4, values.count)]
            var group: UInt32 = 0
            for (offset, value) in chunk.enumerated() { group |= UInt32(value) << UInt32(18 - 6 * offset) }
            for byte in 0..<(chunk.count - 1) { out.append(UInt8(group >> UInt32(16 - 8 * byte) & 0xFF)) }
            index += 4
        }
        return out
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " || s.first == "\t" { s.removeFirst() }
        while s.last == " " || s.last == "\t" { s.removeLast() }
        return String(s)
    }

    func droppingPrefix(_ prefix: String) -> String? {
        guard lowercased().hasPrefix(prefix.lowercased()) else { return nil }
        return String(dropFirst(prefix.count))
    }
}
