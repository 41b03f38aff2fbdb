/// A streaming reader of one file out of a `multipart/form-data` body (RFC 7578), for browsers
/// and form-posting clients: the first part with a `filename` is passed on chunk by chunk as it
/// arrives, never held whole; the text parts named in ``keptFields`` (`check`, the portal's
/// `csrf`) are read too, at most 64 bytes each, and every other part is passed over unread, so
/// a body of many or long text parts costs no memory. The file counts as complete only when its
/// closing boundary arrived, so a cut-off body is never delivered.
struct MultipartFileReader {
    enum Event {
        /// The file part begins, with the name the client gave and the text fields before it.
        case fileStarted(name: String, fields: [String: String])
        /// Bytes of the file part.
        case fileBytes([UInt8])
        /// The file part ended (its boundary arrived).
        case fileEnded
    }

    struct Failure: Error { var message: String }

    /// `fieldBody(name: nil)`: a second file part, or a field nothing reads, passed over unread.
    private enum State { case preamble, headers, fileBody, fieldBody(name: String?), epilogue }

    private let delimiter: [UInt8]
    private var state = State.preamble
    private var pending: [UInt8] = []
    private(set) var fields: [String: String] = [:]
    private var fieldValue: [UInt8] = []
    private(set) var sawFile = false
    private(set) var fileComplete = false

    static let maxHeaderBytes = 16 * 1024
    /// The text fields anything reads; the values of others are never kept.
    static let keptFields: Set<String> = ["check", "csrf"]

    /// A reader for the boundary of a `Content-Type: multipart/form-data; boundary=...` header;
    /// nil when the header has no usable boundary.
    init?(contentType: String) {
        var boundary: String?
        for parameter in contentType.split(separator: ";").dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1).map { String($0).trimmingSpaces }
            guard pair.count == 2, pair[0].lowercased() == "boundary" else { continue }
            var value = pair[1]
            if value.count >= 2 && value.hasPrefix("\"") && value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
            boundary = value
        }
        guard let boundary, !boundary.isEmpty, boundary.utf8.count <= 70 else { return nil }
        delimiter = Array(("\r\n--" + boundary).utf8)
        // The first boundary may open the body without the line break before it.
        pending = Array("\r\n".utf8)
    }

    /// Feeds the next bytes of the body; `emit` receives what they completed.
    mutating func consume(_ bytes: some Sequence<UInt8>, emit: (Event) throws -> Void) throws {
        pending.append(contentsOf: bytes)
        while try step(emit: emit) {}
    }

    /// The body ended: fails unless the file part arrived whole.
    func finish() throws {
        guard sawFile else { throw Failure(message: "the form has no file part (a part with a filename)") }
        guard fileComplete else { throw Failure(message: "the body ends inside the file part, before its closing boundary") }
    }

    /// Makes one step of progress over `pending`; false when it needs more bytes.
    private mutating func step(emit: (Event) throws -> Void) throws -> Bool {
        switch state {
        case .preamble:
            guard let at = find(delimiter) else {
                // Keep only what could still begin a boundary.
                if pending.count > delimiter.count { pending.removeFirst(pending.count - delimiter.count) }
                return false
            }
            pending.removeFirst(at + delimiter.count)
            state = .headers
            return true
        case .headers:
            // After a boundary: "--" ends the body, else CRLF and the part's headers.
            guard pending.count >= 2 else { return false }
            if pending[0] == UInt8(ascii: "-") && pending[1] == UInt8(ascii: "-") {
                state = .epilogue
                pending.removeAll()
                return false
            }
            guard let end = find(Array("\r\n\r\n".utf8)) else {
                if pending.count > Self.maxHeaderBytes { throw Failure(message: "a part's headers are longer than \(Self.maxHeaderBytes) bytes") }
                return false
            }
            let headers = String(decoding: pending[0..<end], as: UTF8.self)
            pending.removeFirst(end + 4)
            let disposition = Self.header("content-disposition", in: headers) ?? ""
            if let filename = ContentDisposition.filename(disposition), !sawFile {
                sawFile = true
                state = .fileBody
                try emit(.fileStarted(name: filename, fields: fields))
            } else {
                state = .fieldBody(name: ContentDisposition.parameter("name", in: disposition).flatMap { Self.keptFields.contains($0) ? $0 : nil })
                fieldValue = []
            }
            return true
        case .fileBody:
            if let at = find(delimiter) {
                if at > 0 { try emit(.fileBytes(Array(pending[0..<at]))) }
                pending.removeFirst(at + delimiter.count)
                fileComplete = true
                try emit(.fileEnded)
                state = .headers
                return true
            }
            // Pass on all but a tail that could be the start of the delimiter.
            let safe = pending.count - (delimiter.count - 1)
            if safe > 0 {
                try emit(.fileBytes(Array(pending[0..<safe])))
                pending.removeFirst(safe)
            }
            return false
        case .fieldBody(let name):
            if let at = find(delimiter) {
                if let name {
                    fieldValue.append(contentsOf: pending[0..<at])
                    if fieldValue.count <= 64 { fields[name] = String(decoding: fieldValue, as: UTF8.self) }
                }
                pending.removeFirst(at + delimiter.count)
                state = .headers
                return true
            }
            let safe = pending.count - (delimiter.count - 1)
            if safe > 0 {
                if name != nil, fieldValue.count < 64 { fieldValue.append(contentsOf: pending[0..<min(safe, 64)]) }
                pending.removeFirst(safe)
            }
            return false
        case .epilogue:
            pending.removeAll()
            return false
        }
    }

    private func find(_ needle: [UInt8]) -> Int? {
        guard pending.count >= needle.count, let first = needle.first else { return nil }
        var index = 0
        let last = pending.count - needle.count
        while index <= last {
            if pending[index] == first {
                var match = true
                for offset in 1..<needle.count where pending[index + offset] != needle[offset] {
                    match = false
                    break
                }
                if match { return index }
            }
            index += 1
        }
        return nil
    }

    private static func header(_ name: String, in headers: String) -> String? {
        for line in headers.split(separator: "\r\n") {
            let pair = line.split(separator: ":", maxSplits: 1)
            if pair.count == 2 && pair[0].lowercased().trimmingSpaces == name { return String(pair[1]).trimmingSpaces }
        }
        return nil
    }
}

/// `Content-Disposition` parameters (RFC 6266): `filename="..."` and `filename*=UTF-8''...`, the
/// latter preferred when both are sent.
enum ContentDisposition {
    static func filename(_ header: String) -> String? {
        if let extended = parameter("filename*", in: header) {
            let parts = extended.split(separator: "'", maxSplits: 2, omittingEmptySubsequences: false)
            if parts.count == 3, parts[0].lowercased() == "utf-8", let decoded = Query.decode(String(parts[2]), plusIsSpace: false) { return decoded }
        }
        return parameter("filename", in: header)
    }

    static func parameter(_ name: String, in header: String) -> String? {
        // Split on ';' outside quotes.
        var items: [String] = []
        var current = ""
        var quoted = false
        for c in header {
            if c == "\"" { quoted.toggle() }
            if c == ";" && !quoted { items.append(current); current = ""; continue }
            current.append(c)
        }
        items.append(current)
        for item in items.dropFirst() {
            let pair = item.split(separator: "=", maxSplits: 1).map { String($0).trimmingSpaces }
            guard pair.count == 2, pair[0].lowercased() == name else { continue }
            var value = pair[1]
            if value.count >= 2 && value.hasPrefix("\"") && value.hasSuffix("\"") {
                value = String(value.dropFirst().dropLast()).replacing("\\\"", with: "\"").replacing("\\\\", with: "\\")
            }
            return value
        }
        return nil
    }
}
