import HTTPTypes
import Hummingbird
import IntakeStore
import IntakeSystem

/// JSON:API documents (https://jsonapi.org/format/) as this API writes them.
enum JSONAPI {
    /// The media type of every body the API sends, and the one it prefers to receive.
    static let mediaType = "application/vnd.api+json"

    /// A response with a JSON:API document built by `body`.
    static func response(_ status: HTTPResponse.Status, headers: HTTPFields = [:], _ body: (inout JSONWriter) -> Void) -> Response {
        var json = JSONWriter(capacity: 512)
        body(&json)
        var fields = headers
        fields[.contentType] = mediaType
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: json.bytes)))
    }

    /// The error document of `error`.
    static func response(for error: APIError) -> Response {
        response(error.status, headers: error.headers) { json in
            json.beginObject()
            json.key("errors")
            json.beginArray()
            for item in error.items {
                json.beginObject()
                json.key("status")
                json.string(String(error.status.code))
                json.key("title")
                json.string(item.title)
                json.key("detail")
                json.string(item.detail)
                if item.pointer != nil || item.parameter != nil {
                    json.key("source")
                    json.beginObject()
                    if let pointer = item.pointer {
                        json.key("pointer")
                        json.string(pointer)
                    }
                    if let parameter = item.parameter {
                        json.key("parameter")
                        json.string(parameter)
                    }
                    json.endObject()
                }
                json.endObject()
            }
            json.endArray()
            json.endObject()
        }
    }

    /// A consumer resource object.
    static func consumer(_ customer: StoredCustomer, into json: inout JSONWriter) {
        json.beginObject()
        json.key("type")
        json.string("consumers")
        json.key("id")
        json.string(customer.externalID)
        json.key("attributes")
        json.beginObject()
        json.key("external_id")
        json.string(customer.externalID)
        json.key("email")
        json.string(customer.email)
        json.key("name")
        json.string(customer.name)
        json.key("phone")
        json.string(customer.phone)
        json.key("created_at")
        json.string(customer.createdAt)
        json.key("custom_attributes")
        json.raw(customer.customAttributes)
        json.key("updated_at")
        json.string(customer.updatedAt)
        json.endObject()
        json.key("links")
        json.beginObject()
        json.key("self")
        json.string(consumerPath(customer.externalID))
        json.endObject()
        json.endObject()
    }

    /// The path of consumer `externalID`, percent-encoded as a path segment.
    static func consumerPath(_ externalID: String) -> String { "/v4/consumers/" + Query.encode(externalID) }
}

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
