import IntakeStore
import IntakeSystem
import IntakeValidate

/// A consumer document sent to `POST /v4/consumers` or `PUT /v4/consumers/{external_id}`, read
/// into the store's ``CustomerUpdate`` with the file rules (``RowValidator/check(_:_:parseTimestamp:)``),
/// so an API client is told the very sentence a result workbook would show.
///
/// Accepted: `{"data": {"type": "consumers", "id"?, "attributes": {...}}}`. Attributes are the
/// five columns of a file, as strings, and `custom_attributes`, an object of strings, numbers and
/// booleans. A field that is absent, `null` or empty is "not given": in merge the stored value
/// stays, as for an empty cell in a file. Every problem in the document is reported at once.
struct ConsumerInput {
    var update: CustomerUpdate

    /// Reads `body`. `pathID` is the external_id of a PUT's URL, nil for a POST (where the
    /// attributes must name it).
    /// - Throws: ``APIError``: 400 for JSON that does not parse or a document of the wrong
    ///   shape, 409 for another resource type, 422 for values the rules refuse.
    init(body: [UInt8], pathID: String?, parseTimestamp: @escaping @Sendable (String) throws(FieldError) -> String) throws(APIError) {
        let document: JSONValue
        do { document = try JSONReader.parse(body) } catch {
            throw APIError(.badRequest, "the body is not valid JSON: \(error)", pointer: "")
        }
        guard case .object = document else { throw APIError(.badRequest, "the body must be a JSON object with a \"data\" member", pointer: "") }
        guard let data = document["data"], case .object = data else {
            throw APIError(.badRequest, "\"data\" must be an object (a consumer resource)", pointer: "/data")
        }
        guard case .string("consumers")? = data["type"] else {
            let found = data["type"].map { $0 == .null ? "null" : Self.describe($0) } ?? "nothing"
            if case .string = data["type"] { throw APIError(.conflict, "\"type\" must be \"consumers\", not \(found)", pointer: "/data/type") }
            throw APIError(.badRequest, "\"type\" must be the string \"consumers\", found \(found)", pointer: "/data/type")
        }
        switch data["id"] {
        case nil, .string?: break
        case let other?: throw APIError(.badRequest, "\"id\" must be a string (the external_id), found \(other.typeName)", pointer: "/data/id")
        }
        let attributes: [(key: String, value: JSONValue)]
        switch data["attributes"] {
        case .object(let members)?: attributes = members
        case nil, .null?: attributes = []
        case let other?: throw APIError(.badRequest, "\"attributes\" must be an object, found \(other.typeName)", pointer: "/data/attributes")
        }

        var problems: [APIError.Item] = []
        func problem(_ pointer: String, _ detail: String) {
            problems.append(APIError.Item(title: "Unprocessable Content", detail: detail, pointer: pointer))
        }
        var fields: [RequiredColumn: String?] = [:]
        var custom = JSONWriter(capacity: 64)
        custom.beginObject()
        for (key, value) in attributes {
            let pointer = "/data/attributes/" + Self.escapePointer(key)
            if key == "custom_attributes" {
                Self.readCustom(value, into: &custom, problem: problem)
                continue
            }
            guard let column = RequiredColumn(rawValue: key) else {
                problem(pointer, "unknown attribute \"\(key)\"; attributes are external_id, email, name, phone, created_at and custom_attributes")
                continue
            }
            let raw: String
            switch value {
            case .null: continue
            case .string(let text): raw = text
            default:
                problem(pointer, "\(key) must be a string, found \(value.typeName)")
                continue
            }
            switch RowValidator.check(column, raw, parseTimestamp: parseTimestamp) {
            case .success(let stored): fields[column] = stored
            case .failure(let rejection):
                // The external_id's own rule (not empty) is checked below, against the URL too.
                if column == .externalID && raw.isEmpty { continue }
                problem(pointer, rejection.message)
            }
        }
        custom.endObject()

        let externalID: String
        let givenID = fields[.externalID] ?? nil
        if let pathID {
            switch RowValidator.check(.externalID, pathID) {
            case .failure(let rejection): throw APIError(.notFound, "no consumer can have this external_id: \(rejection.message)")
            case .success(let id): externalID = id ?? pathID
            }
            if let givenID, givenID != externalID {
                problem("/data/attributes/external_id", "external_id \"\(givenID)\" differs from the URL's \"\(externalID)\"; an external_id cannot be changed")
            }
            if case .string(let id)? = data["id"], id != externalID {
                problem("/data/id", "id \"\(id)\" differs from the URL's \"\(externalID)\"")
            }
        } else {
            if givenID == nil && !problems.contains(where: { $0.pointer == "/data/attributes/external_id" }) {
                problem("/data/attributes/external_id", "external_id is empty; every consumer needs one")
            }
            externalID = givenID ?? ""
        }
        if !problems.isEmpty { throw APIError(.unprocessableContent, items: problems) }
        update = CustomerUpdate(externalID: externalID, email: fields[.email] ?? nil, name: fields[.name] ?? nil,
                                phone: fields[.phone] ?? nil, createdAt: fields[.createdAt] ?? nil, attributesJSON: custom.text)
    }

    /// Copies the custom attributes' scalar members into `json`, in the order sent; empty strings
    /// and nulls are "not given", like empty cells.
    private static func readCustom(_ value: JSONValue, into json: inout JSONWriter, problem: (String, String) -> Void) {
        let base = "/data/attributes/custom_attributes"
        switch value {
        case .null: return
        case .object(let members):
            for (key, member) in members {
                let pointer = base + "/" + escapePointer(key)
                if key.trimmingSpaces.isEmpty { problem(pointer, "a custom attribute needs a name"); continue }
                switch member {
                case .null: continue
                case .string(let text):
                    if text.isEmpty { continue }
                    json.key(key)
                    json.string(text)
                case .number(let text):
                    json.key(key)
                    json.raw(text)
                case .bool(let flag):
                    json.key(key)
                    json.raw(flag ? "true" : "false")
                case .array, .object:
                    problem(pointer, "custom attribute \"\(key)\" must be a string, number or boolean, found \(member.typeName)")
                }
            }
        default:
            problem(base, "custom_attributes must be an object, found \(value.typeName)")
        }
    }

    private static func describe(_ value: JSONValue) -> String {
        if case .string(let text) = value { return "\"\(text)\"" }
        return value.typeName
    }

    /// A member name as a JSON Pointer token (RFC 6901: `~` is `~0`, `/` is `~1`).
    static func escapePointer(_ key: String) -> String {
        key.split(separator: "~", omittingEmptySubsequences: false).joined(separator: "~0")
            .split(separator: "/", omittingEmptySubsequences: false).joined(separator: "~1")
    }
}
