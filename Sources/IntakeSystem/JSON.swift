/// The one JSON writer of Intake: previews, exports, custom attributes and change snapshots all
/// build their JSON here, without a Foundation encoder on the hot path (this builds every row's
/// custom attributes).
///
/// Commas are placed by the writer: call ``key(_:)`` before each member of an object, and the
/// value methods in order. It does not check that the calls nest correctly; its callers are few
/// and tested against SQLite's `json_valid`.
public struct JSONWriter {
    /// The JSON text so far, as UTF-8.
    public private(set) var bytes: [UInt8] = []
    /// Whether the next key or array element needs a comma before it.
    private var needsComma = false

    /// An empty writer; `capacity` bytes are reserved at once when the size is known.
    public init(capacity: Int = 0) {
        bytes.reserveCapacity(capacity)
    }

    /// The JSON text so far.
    public var text: String { String(decoding: bytes, as: UTF8.self) }

    /// Empties the writer, keeping its buffer, to build the next line.
    public mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        needsComma = false
    }

    /// Opens an object; call ``key(_:)`` before each member's value.
    public mutating func beginObject() {
        separate()
        bytes.append(UInt8(ascii: "{"))
        needsComma = false
    }

    /// Closes the innermost open object.
    public mutating func endObject() {
        bytes.append(UInt8(ascii: "}"))
        needsComma = true
    }

    /// Opens an array; its elements follow as value calls, without keys.
    public mutating func beginArray() {
        separate()
        bytes.append(UInt8(ascii: "["))
        needsComma = false
    }

    /// Closes the innermost open array.
    public mutating func endArray() {
        bytes.append(UInt8(ascii: "]"))
        needsComma = true
    }

    /// A member's name; its value follows with the next call.
    public mutating func key(_ name: String) {
        separate()
        JSON.appendString(name, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    /// A string, or `null` for nil.
    public mutating func string(_ value: String?) {
        separate()
        if let value { JSON.appendString(value, to: &bytes) } else { bytes.append(contentsOf: "null".utf8) }
        needsComma = true
    }

    /// A whole number, or `null` for nil.
    public mutating func number(_ value: Int64?) {
        separate()
        bytes.append(contentsOf: (value.map { String($0) } ?? "null").utf8)
        needsComma = true
    }

    /// A value that is JSON text already (a stored `custom_attributes` object, say).
    public mutating func raw(_ json: String) {
        separate()
        bytes.append(contentsOf: json.utf8)
        needsComma = true
    }

    /// Ends one value of a JSON Lines stream: a line break, and no comma before the next value.
    public mutating func endLine() {
        bytes.append(UInt8(ascii: "\n"))
        needsComma = false
    }

    /// A member whose value is a string (`null` for nil): ``key(_:)`` and ``string(_:)`` in one.
    public mutating func member(_ name: String, _ value: String?) {
        key(name)
        string(value)
    }

    /// A member whose value is a whole number (`null` for nil).
    public mutating func member(_ name: String, number value: Int64?) {
        key(name)
        number(value)
    }

    /// A member whose value is JSON text already.
    public mutating func member(_ name: String, raw json: String) {
        key(name)
        raw(json)
    }

    /// A member whose value is a string given as UTF-8 (`null` for nil).
    public mutating func member(_ name: String, bytes value: UnsafeBufferPointer<UInt8>?) {
        key(name)
        if let value { JSON.appendString(value, to: &bytes) } else { bytes.append(contentsOf: "null".utf8) }
        needsComma = true
    }

    /// A member whose value is JSON text already, given as UTF-8.
    public mutating func member(_ name: String, raw json: UnsafeBufferPointer<UInt8>) {
        key(name)
        bytes.append(contentsOf: json)
        needsComma = true
    }

    /// An array of strings.
    public mutating func strings(_ items: [String]) {
        beginArray()
        for item in items { string(item) }
        endArray()
    }

    @inline(__always)
    private mutating func separate() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
    }
}

/// JSON string escaping per RFC 8259, used by ``JSONWriter``.
public enum JSON {
    /// Appends `text` as a JSON string literal. Runs of bytes that need no escape (nearly all of
    /// them) are copied whole.
    public static func appendString(_ text: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        text.withUTF8Bytes { appendEscaped($0, to: &out) }
        out.append(UInt8(ascii: "\""))
    }

    /// Appends UTF-8 `bytes` as a JSON string literal.
    public static func appendString(_ bytes: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        appendEscaped(bytes, to: &out)
        out.append(UInt8(ascii: "\""))
    }

    private static func appendEscaped(_ bytes: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        var run = 0
        for i in bytes.indices {
            let byte = bytes[i]
            guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[run..<i]))
            run = i + 1
            out.append(UInt8(ascii: "\\"))
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): out.append(byte)
            case UInt8(ascii: "\n"): out.append(UInt8(ascii: "n"))
            case UInt8(ascii: "\r"): out.append(UInt8(ascii: "r"))
            case UInt8(ascii: "\t"): out.append(UInt8(ascii: "t"))
            default:
                out.append(UInt8(ascii: "u"))
                out.append(UInt8(ascii: "0"))
                out.append(UInt8(ascii: "0"))
                out.append(hexDigit(byte >> 4))
                out.append(hexDigit(byte & 0xF))
            }
        }
        out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[run...]))
    }

    private static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") + value - 10
    }
}
