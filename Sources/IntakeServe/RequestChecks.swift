import HTTPTypes
import Hummingbird

/// What a request must look like before its body is read: media types, `Accept`, and size.
enum RequestChecks {
    /// 415 unless the body is JSON:API or plain JSON (`charset=utf-8` allowed for the latter).
    static func requireJSON(_ request: Request) throws(APIError) {
        let type = (request.headers[.contentType] ?? "").lowercased()
        let parts = type.split(separator: ";").map { String($0).trimmingSpaces }
        let base = parts.first ?? ""
        let parameters = parts.dropFirst()
        let plainJSON = base == "application/json" && parameters.allSatisfy { $0.replacing(" ", with: "") == "charset=utf-8" }
        let jsonAPI = base == JSONAPI.mediaType && parameters.isEmpty
        guard plainJSON || jsonAPI else {
            throw APIError(.unsupportedMediaType, "send the body as \(JSONAPI.mediaType) (or application/json), not \(type.isEmpty ? "without a Content-Type" : type)",
                           pointer: nil)
        }
    }

    /// 406 when `Accept` names neither JSON:API, JSON nor a wildcard that covers them.
    static func requireAcceptsJSON(_ request: Request) throws(APIError) {
        guard let accept = request.headers[.accept], !accept.trimmingSpaces.isEmpty else { return }
        let acceptable = accept.lowercased().split(separator: ",").contains { item in
            let type = item.split(separator: ";").first.map { String($0).trimmingSpaces } ?? ""
            return ["*/*", "application/*", "application/json", JSONAPI.mediaType].contains(type)
        }
        if !acceptable { throw APIError(.notAcceptable, "this API answers in \(JSONAPI.mediaType); the request's Accept header (\(accept)) excludes it") }
    }

    /// 413 at once when the declared length is over `limit` (before a byte of the body is read).
    static func requireLength(_ request: Request, atMost limit: Int64) throws(APIError) {
        if let declared = request.headers[.contentLength].flatMap({ Int64($0) }), declared > limit {
            throw APIError(.contentTooLarge, "the body is \(declared) bytes; at most \(limit) are accepted here")
        }
    }

    /// The whole body, at most `limit` bytes (a body without a declared length is counted as it
    /// arrives and refused as soon as it passes the limit).
    static func collect(_ request: Request, atMost limit: Int) async throws -> [UInt8] {
        try requireLength(request, atMost: Int64(limit))
        var bytes: [UInt8] = []
        for try await buffer in request.body {
            if bytes.count + buffer.readableBytes > limit {
                throw APIError(.contentTooLarge, "the body is over the limit of \(limit) bytes")
            }
            bytes.append(contentsOf: buffer.readableBytesView)
        }
        return bytes
    }
}
