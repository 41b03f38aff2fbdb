import HTTPTypes
import Hummingbird
import IntakeImport
import IntakeStore
import IntakeSystem
import IntakeValidate

/// `/v4/consumers`: customers one at a time, as the platform partners integrate with.
///
/// Writes go through the store's writer (answered once durable), reads through its read
/// connections, on SQLite or PostgreSQL alike. Every statement is scoped by the token's partner, so another partner's
/// external_id is simply not found (404, never 403: the answer must not tell it exists).
struct ConsumerRoutes: Sendable {
    let reads: any ServeReading
    let writes: any ServeWriting
    let settings: @Sendable (String) -> Settings.Partner
    let maxBodyBytes: Int
    let clock: any TimeSource

    static let defaultPageSize = 100
    static let maxPageSize = 1_000

    func register(on router: Router<APIContext>, routes: RouteTable) {
        router.post("/v4/consumers") { request, context in try await create(request, context) }
        router.get("/v4/consumers") { request, context in try await list(request, context) }
        router.put("/v4/consumers/:id") { request, context in try await put(request, context) }
        router.get("/v4/consumers/:id") { request, context in try await get(request, context) }
        routes.add(.post, "/v4/consumers")
        routes.add(.get, "/v4/consumers")
        routes.add(.put, "/v4/consumers/:id")
        routes.add(.get, "/v4/consumers/:id")
    }

    /// `POST /v4/consumers`: 201 with the new consumer, 422 when its external_id exists.
    func create(_ request: Request, _ context: APIContext) async throws -> Response {
        let principal = try context.partner
        let partner = settings(principal.partner)
        if partner.mode == .updateOnly {
            throw APIError(.unprocessableContent, "partner \(principal.partner) imports in update-only mode, which never creates a consumer; use PUT for existing ones")
        }
        let input = try await read(request, pathID: nil, partner: partner)
        let outcome = try await write(input.value, mode: .createOnly, principal: principal, request: "POST /v4/consumers", bytes: input.bytes)
        return document(.created, outcome.customer, location: true)
    }

    /// `PUT /v4/consumers/{external_id}`: update (200) or create (201), by the partner's mode.
    func put(_ request: Request, _ context: APIContext) async throws -> Response {
        let principal = try context.partner
        let id = try pathID(context)
        let partner = settings(principal.partner)
        let input = try await read(request, pathID: id, partner: partner)
        // Merge and replace partners both merge here: a PUT keeps what it does not mention, as
        // the platform's API does; the other modes keep their meaning.
        let mode: ImportMode = partner.mode == .replace ? .merge : partner.mode
        let outcome = try await write(input.value, mode: mode, principal: principal, request: "PUT " + JSONAPI.consumerPath(input.value.externalID), bytes: input.bytes)
        return document(outcome.result == .created ? .created : .ok, outcome.customer, location: outcome.result == .created)
    }

    /// `GET /v4/consumers/{external_id}`.
    func get(_ request: Request, _ context: APIContext) async throws -> Response {
        let principal = try context.partner
        try RequestChecks.requireAcceptsJSON(request)
        let id = try pathID(context)
        let found = try await reads.read { store in try store.customer(partner: principal.partner, externalID: id) }
        guard let customer = found else { throw APIError.notFound("consumer \(id)") }
        return document(.ok, customer, location: false)
    }

    /// `GET /v4/consumers?page[size]=N&page[after]=CURSOR`: by external_id, keyset-paginated;
    /// `links.next` carries the cursor (the last external_id, base64url) while there may be more.
    func list(_ request: Request, _ context: APIContext) async throws -> Response {
        let principal = try context.partner
        try RequestChecks.requireAcceptsJSON(request)
        let query = try Query.parameters(request)
        let size = try Query.pageSize(query, fallback: Self.defaultPageSize, max: Self.maxPageSize)
        var after: String?
        if let cursor = query["page[after]"] {
            guard let bytes = APIToken.fromBase64URL(cursor), let id = String(validating: bytes, as: UTF8.self) else {
                throw APIError(.badRequest, "page[after] is not a cursor this API gave out", parameter: "page[after]")
            }
            after = id
        }
        let page = try await reads.read { [after] store in try store.customers(partner: principal.partner, after: after, limit: size) }
        return JSONAPI.response(.ok) { json in
            json.beginObject()
            json.key("data")
            json.beginArray()
            for customer in page { JSONAPI.consumer(customer, into: &json) }
            json.endArray()
            json.key("links")
            json.beginObject()
            json.key("next")
            if page.count == size, let last = page.last {
                json.string("/v4/consumers?page[size]=\(size)&page[after]=" + APIToken.base64URL(Array(last.externalID.utf8)))
            } else {
                json.string(nil)
            }
            json.endObject()
            json.endObject()
        }
    }

    // MARK: Helpers

    private func pathID(_ context: APIContext) throws(APIError) -> String {
        // Hummingbird matches the raw path; the segment is still percent-encoded.
        guard let raw = context.parameters.get("id"), let id = Query.decode(raw, plusIsSpace: false) else {
            throw APIError(.notFound, "the external_id in the URL is not valid percent-encoded UTF-8")
        }
        return id
    }

    private func read(_ request: Request, pathID: String?, partner: Settings.Partner) async throws -> (value: CustomerUpdate, bytes: Int) {
        try RequestChecks.requireAcceptsJSON(request)
        try RequestChecks.requireJSON(request)
        let body = try await RequestChecks.collect(request, atMost: maxBodyBytes)
        let parse: @Sendable (String) throws(FieldError) -> String
        do {
            let (policy, _) = try partner.policy()
            if let rules = policy.timestamps {
                parse = { (raw: String) throws(FieldError) -> String in try rules.parse(raw) }
            } else {
                parse = TimestampParser.parse
            }
        } catch {
            throw APIError(.serviceUnavailable, "this partner's settings cannot be applied (\(error)); the operator has been told", headers: [.retryAfter: "60"])
        }
        return (try ConsumerInput(body: body, pathID: pathID, parseTimestamp: parse).update, body.count)
    }

    private func write(_ update: CustomerUpdate, mode: ImportMode, principal: APIPrincipal, request: String, bytes: Int) async throws -> APIWrites.Outcome {
        let now = clock.utcNow()
        do {
            return try await writes.write { store in
                try store.writeCustomer(update, mode: mode, principal: principal, request: request, bytes: bytes, now: now)
            }
        } catch APIWrites.Refusal.alreadyExists {
            let why = mode == .createOnly && request.hasPrefix("PUT") ? " (this partner imports in create-only mode)" : ""
            throw APIError(.unprocessableContent, "a consumer with external_id \"\(update.externalID)\" already exists\(why)", pointer: "/data/attributes/external_id")
        } catch APIWrites.Refusal.notFound {
            throw APIError(.notFound, "no consumer with external_id \"\(update.externalID)\" exists, and this partner imports in update-only mode, which never creates one")
        }
    }

    private func document(_ status: HTTPResponse.Status, _ customer: StoredCustomer, location: Bool) -> Response {
        var headers: HTTPFields = [:]
        if location { headers[.location] = JSONAPI.consumerPath(customer.externalID) }
        return JSONAPI.response(status, headers: headers) { json in
            json.beginObject()
            json.key("data")
            JSONAPI.consumer(customer, into: &json)
            json.endObject()
        }
    }
}
