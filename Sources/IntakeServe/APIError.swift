import HTTPTypes

/// A request the API answers with an error: its status, and the JSON:API error objects that say
/// why (`errors[].detail` for people, `source.pointer` or `source.parameter` for programs).
struct APIError: Error {
    struct Item {
        var title: String
        var detail: String
        /// JSON Pointer into the request document, e.g. `/data/attributes/email`.
        var pointer: String? = nil
        /// The query parameter to blame, e.g. `page[size]`.
        var parameter: String? = nil
    }

    var status: HTTPResponse.Status
    var items: [Item]
    /// Extra response headers: `WWW-Authenticate`, `Retry-After`, `Allow`.
    var headers: HTTPFields = [:]

    init(_ status: HTTPResponse.Status, _ detail: String, pointer: String? = nil, parameter: String? = nil, headers: HTTPFields = [:]) {
        self.status = status
        self.items = [Item(title: status.reasonPhrase, detail: detail, pointer: pointer, parameter: parameter)]
        self.headers = headers
    }

    init(_ status: HTTPResponse.Status, items: [Item]) {
        self.status = status
        self.items = items
    }

    static func notFound(_ what: String) -> APIError { APIError(.notFound, "\(what) was not found") }
}
