import Hummingbird

/// Query strings and path segments, decoded and encoded by RFC 3986 rules: Hummingbird leaves
/// query keys encoded, and `page[size]` arrives as `page%5Bsize%5D` from many clients.
enum Query {
    /// The parameters of `query` (without `?`), keys and values percent-decoded; nil for text
    /// that does not decode to UTF-8.
    static func parse(_ query: String?) -> [String: String]? {
        var out: [String: String] = [:]
        for pair in (query ?? "").split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let key = decode(String(parts[0])), let value = decode(parts.count > 1 ? String(parts[1]) : "") else { return nil }
            out[key] = value
        }
        return out
    }

    /// The request's query parameters; 400 when they do not decode.
    static func parameters(_ request: Request) throws(APIError) -> [String: String] {
        guard let query = parse(request.uri.query) else { throw APIError(.badRequest, "the query string is not valid percent-encoded UTF-8") }
        return query
    }

    /// `page[size]`: `fallback` when absent, 400 naming the parameter when not a number in `1...max`.
    static func pageSize(_ query: [String: String], fallback: Int, max: Int) throws(APIError) -> Int {
        guard let text = query["page[size]"] else { return fallback }
        guard let value = Int(text), (1...max).contains(value) else {
            throw APIError(.badRequest, "page[size] must be a whole number from 1 to \(max)", parameter: "page[size]")
        }
        return value
    }

    /// Percent-decodes `text` (`+` is a space in queries); nil for a bad escape or invalid UTF-8.
    static func decode(_ text: String, plusIsSpace: Bool = true) -> String? {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let c = iterator.next() {
            if c == UInt8(ascii: "%") {
                guard let h = iterator.next().flatMap(hex), let l = iterator.next().flatMap(hex) else { return nil }
                bytes.append(h << 4 | l)
            } else if c == UInt8(ascii: "+") && plusIsSpace {
                bytes.append(UInt8(ascii: " "))
            } else {
                bytes.append(c)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    /// `text` percent-encoded for a path segment or query value: unreserved characters stay.
    static func encode(_ text: String) -> String {
        var out = ""
        for c in text.utf8 {
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(c))
            default:
                let digits = Array("0123456789ABCDEF".unicodeScalars)
                out.unicodeScalars.append("%")
                out.unicodeScalars.append(digits[Int(c >> 4)])
                out.unicodeScalars.append(digits[Int(c & 0xF)])
            }
        }
        return out
    }

    private static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
