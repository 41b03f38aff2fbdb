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
                json.member("status", String(error.status.code))
                json.member("title", item.title)
                json.member("detail", item.detail)
                if item.pointer != nil || item.parameter != nil {
                    json.key("source")
                    json.beginObject()
                    if let pointer = item.pointer {
                        json.member("pointer", pointer)
                    }
                    if let parameter = item.parameter {
                        json.member("parameter", parameter)
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
        json.member("type", "consumers")
        json.member("id", customer.externalID)
        json.key("attributes")
        json.beginObject()
        json.member("external_id", customer.externalID)
        json.member("email", customer.email)
        json.member("name", customer.name)
        json.member("phone", customer.phone)
        json.member("created_at", customer.createdAt)
        json.member("custom_attributes", raw: customer.customAttributes)
        json.member("updated_at", customer.updatedAt)
        json.endObject()
        json.key("links")
        json.beginObject()
        json.member("self", consumerPath(customer.externalID))
        json.endObject()
        json.endObject()
    }

    /// The path of consumer `externalID`, percent-encoded as a path segment.
    static func consumerPath(_ externalID: String) -> String { "/v4/consumers/" + Query.encode(externalID) }
}
