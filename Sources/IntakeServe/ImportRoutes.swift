import HTTPTypes
import Hummingbird
import IntakeImport
import IntakeStore
import IntakeSystem
import IntakeWatch
import NIOPosix

/// `/v4/imports`: files over HTTP, and the partner's imports.
///
/// An upload is streamed into the partner's inbox through ``InboxUpload`` (never held in
/// memory, invisible until complete and durable) and then follows the watcher's path like any
/// SFTP upload: one pipeline, one exactly-once guarantee. The client gets 202 and an upload id
/// to poll; the upload's import, once claimed, is found through the journal.
struct ImportRoutes: Sendable {
    let root: DataRoot
    let reads: any ServeReading
    let writes: any ServeWriting
    let settings: @Sendable (String) -> Settings.Partner
    let maxUploadBytes: Int64
    let clock: any TimeSource

    /// Media types a file may be sent as; the file name's extension decides the format.
    static let fileTypes: Set<String> = [
        "text/csv", "application/csv", "text/plain", "application/vnd.ms-excel", "application/octet-stream",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ]
    static let xlsxType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    static let defaultPageSize = 50
    static let maxPageSize = 500

    func register(on router: Router<APIContext>, routes: RouteTable) {
        router.post("/v4/imports") { request, context in try await upload(request, context) }
        router.get("/v4/imports") { request, context in try await list(request, context) }
        router.get("/v4/imports/:id") { request, context in try await show(request, context) }
        router.get("/v4/imports/:id/result.xlsx") { request, context in try await result(request, context) }
        routes.add(.post, "/v4/imports")
        routes.add(.get, "/v4/imports")
        routes.add(.get, "/v4/imports/:id")
        routes.add(.get, "/v4/imports/:id/result.xlsx")
    }

    // MARK: Reading

    /// `GET /v4/imports?page[size]=N&page[before]=ID`: the partner's file imports, newest first.
    func list(_ request: Request, _ context: APIContext) async throws -> Response {
        let principal = try context.partner
        try RequestChecks.requireAcceptsJSON(request)
        let query = try Query.parameters(request)
        let size = try Query.pageSize(query, fallback: Self.defaultPageSize, max: Self.maxPageSize)
        var before: Int64?
        if let text = query["page[before]"] {
            guard let value = Int64(text), value > 0 else { throw APIError(.badRequest, "page[before] must be an import id", parameter: "page[before]") }
            before = value
        }
        let records = try await reads.read { [before] store in try store.fileImports(partner: principal.partner, before: before, limit: size) }
        return JSONAPI.response(.ok) { json in
            json.beginObject()
            json.key("data")
            json.beginArray()
            for record in records { JSONAPI.importRecord(record, into: &json) }
            json.endArray()
            json.key("links")
            json.beginObject()
            json.member("next", records.count == size ? records.last.map { "/v4/imports?page[size]=\(size)&page[before]=\($0.id)" } : nil)
            json.endObject()
            json.endObject()
        }
    }

    /// `GET /v4/imports/{id}`: an upload (its id from the 202) or an import (a number).
    func show(_ request: Request, _ context: APIContext) async throws -> Response {
        let principal = try context.partner
        try RequestChecks.requireAcceptsJSON(request)
        let id = context.parameters.get("id") ?? ""
        let found = try await reads.read { store throws -> Found? in try Self.find(id, partner: principal.partner, in: store) }
        guard let found else { throw APIError.notFound("import \(id)") }
        return JSONAPI.response(.ok) { json in
            json.beginObject()
            json.key("data")
            switch found {
            case .upload(let upload, let progress): JSONAPI.upload(upload, progress, into: &json)
            case .record(let record): JSONAPI.importRecord(record, into: &json)
            }
            json.endObject()
        }
    }

    /// `GET /v4/imports/{id}/result.xlsx`: the result workbook, once written.
    func result(_ request: Request, _ context: APIContext) async throws -> Response {
        let principal = try context.partner
        let id = context.parameters.get("id") ?? ""
        let found = try await reads.read { store throws -> Found? in try Self.find(id, partner: principal.partner, in: store) }
        guard let found else { throw APIError.notFound("import \(id)") }
        guard let path = found.record?.resultPath, FileSystem.exists(path) else {
            throw APIError(.notFound, "import \(id) has no result workbook yet; GET /v4/imports/\(id) tells its status")
        }
        let body = try await FileIO().loadFile(path: path, context: context)
        let name = FileSystem.baseName(of: path)
        return Response(status: .ok, headers: [
            .contentType: Self.xlsxType,
            .contentDisposition: Self.attachment(name),
        ], body: body)
    }

    /// `Content-Disposition` for a download named `name`: a plain fallback and the RFC 6266 UTF-8 form.
    static func attachment(_ name: String) -> String {
        "attachment; filename=\"\(name.replacing("\"", with: ""))\"; filename*=UTF-8''\(Query.encode(name))"
    }

    private enum Found {
        case upload(UploadRecord, UploadProgress)
        case record(ImportRecord)

        var record: ImportRecord? {
            switch self {
            case .upload(_, let progress): progress.record
            case .record(let record): record
            }
        }
    }

    private static func find(_ id: String, partner: String, in store: any ServeReads) throws -> Found? {
        if let number = Int64(id) {
            return try store.fileImport(partner: partner, id: number).map(Found.record)
        }
        guard let upload = try store.upload(partner: partner, id: id) else { return nil }
        return .upload(upload, try store.progress(of: upload))
    }
}
