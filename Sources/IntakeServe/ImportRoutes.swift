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
    let reads: ReadPool
    let writes: GroupCommitter
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

    // MARK: Upload

    /// `POST /v4/imports[?check=true]`: the file as the body (name in `Content-Disposition`) or
    /// as the file part of `multipart/form-data`. 202 with the upload's id and `Location`.
    func upload(_ request: Request, _ context: APIContext) async throws -> Response {
        let principal = try context.partner
        try RequestChecks.requireAcceptsJSON(request)
        guard let query = Query.parse(request.uri.query) else { throw APIError(.badRequest, "the query string is not valid percent-encoded UTF-8") }
        var check = try Self.flag(query["check"], parameter: "check")
        let limit = min(maxUploadBytes, settings(principal.partner).maxBytes ?? .max)
        try RequestChecks.requireLength(request, atMost: limit)

        let contentType = request.headers[.contentType] ?? ""
        let baseType = contentType.split(separator: ";").first.map { String($0).trimmingSpaces.lowercased() } ?? ""
        let receivedAt = clock.utcNow()
        var upload: InboxUpload?
        var fileName = ""
        func begin(_ name: String) throws {
            fileName = try Self.checkedName(name)
            upload = try InboxUpload(root: root, partner: principal.partner, check: check)
        }
        func append(_ bytes: UnsafeRawBufferPointer) throws {
            guard let upload else { return }
            if upload.size + Int64(bytes.count) > limit { throw APIError(.contentTooLarge, "the file is over the limit of \(limit) bytes") }
            try upload.write(bytes)
        }

        if baseType == "multipart/form-data" {
            guard var reader = MultipartFileReader(contentType: contentType) else {
                throw APIError(.badRequest, "multipart/form-data needs a boundary parameter")
            }
            do {
                for try await buffer in request.body {
                    try reader.consume(buffer.readableBytesView) { event in
                        switch event {
                        case .fileStarted(let name, let fields):
                            if query["check"] == nil, let field = fields["check"] { check = try Self.flag(field, parameter: "check") }
                            try begin(name)
                        case .fileBytes(let bytes): try bytes.withUnsafeBytes { try append($0) }
                        case .fileEnded: break
                        }
                    }
                }
                try reader.finish()
            } catch let failure as MultipartFileReader.Failure {
                throw APIError(.badRequest, failure.message)
            }
            if query["check"] == nil, let field = reader.fields["check"], try Self.flag(field, parameter: "check") != check {
                throw APIError(.badRequest, "put the form's check field before its file part, or use ?check=true", parameter: "check")
            }
        } else {
            guard Self.fileTypes.contains(baseType) else {
                throw APIError(.unsupportedMediaType, "send a CSV or XLSX file (text/csv, \(Self.xlsxType), application/octet-stream) or multipart/form-data, not \(baseType.isEmpty ? "no Content-Type" : baseType)")
            }
            guard let name = request.headers[.contentDisposition].flatMap(ContentDisposition.filename) else {
                throw APIError(.badRequest, "name the file: Content-Disposition: attachment; filename=\"customers.csv\"")
            }
            try begin(name)
            for try await buffer in request.body {
                try buffer.withUnsafeReadableBytes { try append($0) }
            }
        }
        guard let upload else { throw APIError(.badRequest, "the request carries no file") }
        if upload.size == 0 { throw APIError(.unprocessableContent, "\(fileName) is empty") }

        // The upload is recorded before the file gets its name: once the watcher can see it, the
        // client must get its id (a 503 after that would make it send the file twice). The
        // record finds the file by its inode, which the anonymous file already has.
        var record = UploadRecord(id: Self.newID(), partner: principal.partner, fileName: fileName, inboxName: fileName,
                                  dryRun: upload.check, size: upload.size, inode: try upload.inode, tokenName: principal.tokenName, receivedAt: receivedAt)
        let recorded = record
        try await writes.write { database in try Uploads(database: database).add(recorded) }
        // fsync and rename block: off the cooperative pool.
        record.inboxName = try await NIOThreadPool.singleton.runIfActive { [fileName] in try upload.deliver(as: fileName) }
        if record.inboxName != fileName {
            let (id, name) = (record.id, record.inboxName)
            // Only what the client is shown; the journal is matched by inode.
            try? await writes.write { database in try Uploads(database: database).rename(partner: principal.partner, id: id, inboxName: name) }
        }
        context.logger.info("file received over HTTP", metadata: ["file": "\(record.inboxName)", "size": "\(record.size)", "check": "\(record.dryRun)", "upload": "\(record.id)"])
        return JSONAPI.response(.accepted, headers: [.location: "/v4/imports/" + record.id]) { json in
            json.beginObject()
            json.key("data")
            uploadResource(record, UploadProgress(state: .waiting), into: &json)
            json.endObject()
        }
    }

    /// A file name as the inbox will hold it: the last path component, one that the watcher
    /// imports (`.csv`, `.xlsx`) and never mistakes for a temporary upload.
    static func checkedName(_ raw: String) throws(APIError) -> String {
        let name = String(raw.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last ?? "").trimmingSpaces
        guard !name.isEmpty, !name.hasPrefix("."), !name.contains("\0"), name.utf8.count <= 200 else {
            throw APIError(.badRequest, "the file name \"\(raw)\" cannot be used: it must be 1 to 200 bytes, not start with '.', and have no NUL")
        }
        guard UploadNames.isImportable(name), !UploadNames.isTemporary(name) else {
            throw APIError(.unsupportedMediaType, "\(name): only .csv and .xlsx files are imported")
        }
        return name
    }

    private static func flag(_ text: String?, parameter: String) throws(APIError) -> Bool {
        switch text?.lowercased() {
        case nil, "false", "0", "": return false
        case "true", "1", "on": return true
        default: throw APIError(.badRequest, "\(parameter) must be true or false", parameter: parameter)
        }
    }

    private static func newID() -> String {
        var generator = SystemRandomNumberGenerator()
        return "up_" + APIToken.base64URL((0..<15).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
    }

    // MARK: Reading

    /// `GET /v4/imports?page[size]=N&page[before]=ID`: the partner's file imports, newest first.
    func list(_ request: Request, _ context: APIContext) async throws -> Response {
        let principal = try context.partner
        try RequestChecks.requireAcceptsJSON(request)
        guard let query = Query.parse(request.uri.query) else { throw APIError(.badRequest, "the query string is not valid percent-encoded UTF-8") }
        var size = Self.defaultPageSize
        if let text = query["page[size]"] {
            guard let value = Int(text), (1...Self.maxPageSize).contains(value) else {
                throw APIError(.badRequest, "page[size] must be a whole number from 1 to \(Self.maxPageSize)", parameter: "page[size]")
            }
            size = value
        }
        var before: Int64?
        if let text = query["page[before]"] {
            guard let value = Int64(text), value > 0 else { throw APIError(.badRequest, "page[before] must be an import id", parameter: "page[before]") }
            before = value
        }
        let records = try reads.read { database in try ImportLog(database: database).list(partner: principal.partner, before: before, limit: size) }
        return JSONAPI.response(.ok) { json in
            json.beginObject()
            json.key("data")
            json.beginArray()
            for record in records { importResource(record, into: &json) }
            json.endArray()
            json.key("links")
            json.beginObject()
            json.key("next")
            json.string(records.count == size ? records.last.map { "/v4/imports?page[size]=\(size)&page[before]=\($0.id)" } : nil)
            json.endObject()
            json.endObject()
        }
    }

    /// `GET /v4/imports/{id}`: an upload (its id from the 202) or an import (a number).
    func show(_ request: Request, _ context: APIContext) async throws -> Response {
        let principal = try context.partner
        try RequestChecks.requireAcceptsJSON(request)
        let id = context.parameters.get("id") ?? ""
        let found = try reads.read { database throws -> Found? in try Self.find(id, partner: principal.partner, in: database) }
        guard let found else { throw APIError.notFound("import \(id)") }
        return JSONAPI.response(.ok) { json in
            json.beginObject()
            json.key("data")
            switch found {
            case .upload(let upload, let progress): uploadResource(upload, progress, into: &json)
            case .record(let record): importResource(record, into: &json)
            }
            json.endObject()
        }
    }

    /// `GET /v4/imports/{id}/result.xlsx`: the result workbook, once written.
    func result(_ request: Request, _ context: APIContext) async throws -> Response {
        let principal = try context.partner
        let id = context.parameters.get("id") ?? ""
        let found = try reads.read { database throws -> Found? in try Self.find(id, partner: principal.partner, in: database) }
        guard let found else { throw APIError.notFound("import \(id)") }
        guard let path = found.record?.resultPath, FileSystem.exists(path) else {
            throw APIError(.notFound, "import \(id) has no result workbook yet; GET /v4/imports/\(id) tells its status")
        }
        let body = try await FileIO().loadFile(path: path, context: context)
        let name = FileSystem.baseName(of: path)
        return Response(status: .ok, headers: [
            .contentType: Self.xlsxType,
            .contentDisposition: "attachment; filename=\"\(name.replacing("\"", with: ""))\"; filename*=UTF-8''\(Query.encode(name))",
        ], body: body)
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

    private static func find(_ id: String, partner: String, in database: Database) throws -> Found? {
        if let number = Int64(id) {
            return try ImportLog(database: database).findFile(partner: partner, id: number).map(Found.record)
        }
        let uploads = Uploads(database: database)
        guard let upload = try uploads.find(partner: partner, id: id) else { return nil }
        return .upload(upload, try uploads.progress(of: upload))
    }

    // MARK: Documents

    private func uploadResource(_ upload: UploadRecord, _ progress: UploadProgress, into json: inout JSONWriter) {
        json.beginObject()
        json.key("type")
        json.string("imports")
        json.key("id")
        json.string(upload.id)
        json.key("attributes")
        json.beginObject()
        json.key("status")
        json.string(progress.state.rawValue)
        json.key("file_name")
        json.string(upload.fileName)
        json.key("inbox_name")
        json.string(upload.inboxName)
        json.key("check")
        json.raw(upload.dryRun ? "true" : "false")
        json.key("size")
        json.number(upload.size)
        json.key("received_at")
        json.string(upload.receivedAt)
        json.key("import_id")
        json.number(progress.record?.id)
        json.key("error")
        json.string(progress.lastError ?? progress.record?.error)
        if let record = progress.record { counts(record, into: &json) }
        json.endObject()
        json.key("links")
        json.beginObject()
        json.key("self")
        json.string("/v4/imports/" + upload.id)
        if let record = progress.record {
            json.key("import")
            json.string("/v4/imports/\(record.id)")
            if record.resultPath != nil {
                json.key("result")
                json.string("/v4/imports/\(upload.id)/result.xlsx")
            }
        }
        json.endObject()
        json.endObject()
    }

    private func importResource(_ record: ImportRecord, into json: inout JSONWriter) {
        json.beginObject()
        json.key("type")
        json.string("imports")
        json.key("id")
        json.string(String(record.id))
        json.key("attributes")
        json.beginObject()
        json.key("status")
        json.string(Self.state(record).rawValue)
        json.key("file_name")
        json.string(record.fileName)
        json.key("check")
        json.raw(record.status == .checked ? "true" : "false")
        json.key("size")
        json.number(record.size)
        json.key("started_at")
        json.string(record.startedAt)
        json.key("finished_at")
        json.string(record.finishedAt)
        json.key("error")
        json.string(record.error)
        counts(record, into: &json)
        json.endObject()
        json.key("links")
        json.beginObject()
        json.key("self")
        json.string("/v4/imports/\(record.id)")
        if record.resultPath != nil {
            json.key("result")
            json.string("/v4/imports/\(record.id)/result.xlsx")
        }
        json.endObject()
        json.endObject()
    }

    private func counts(_ record: ImportRecord, into json: inout JSONWriter) {
        json.key("outcome")
        json.string(record.status.rawValue)
        json.key("rows")
        json.beginObject()
        for (key, value) in [("read", record.rowsRead), ("created", record.created), ("updated", record.updated),
                             ("unchanged", record.unchanged), ("skipped", record.skipped), ("rejected", record.rejected)] {
            json.key(key)
            json.number(Int64(value))
        }
        json.endObject()
    }

    static func state(_ record: ImportRecord) -> UploadProgress.State {
        switch record.status {
        case .running: .importing
        case .completed, .checked, .duplicate: .done
        case .rejected: .rejected
        }
    }
}
