import HTTPTypes
import Hummingbird
import IntakeImport
import IntakeStore
import IntakeSystem
import IntakeWatch
import Logging
import NIOPosix

/// `POST /v4/imports`: a file into the partner's inbox.
extension ImportRoutes {
    /// `POST /v4/imports[?check=true]`: the file as the body (name in `Content-Disposition`) or
    /// as the file part of `multipart/form-data`. 202 with the upload's id and `Location`.
    func upload(_ request: Request, _ context: APIContext) async throws -> Response {
        let principal = try context.partner
        try RequestChecks.requireAcceptsJSON(request)
        let query = try Query.parameters(request)
        let record = try await receive(request, from: Sender(partner: principal.partner, tokenName: principal.tokenName),
                                       check: try Self.flag(query["check"], parameter: "check"), checkInQuery: query["check"] != nil,
                                       logger: context.logger)
        return JSONAPI.response(.accepted, headers: [.location: "/v4/imports/" + record.id]) { json in
            json.beginObject()
            json.key("data")
            JSONAPI.upload(record, UploadProgress(state: .waiting), into: &json)
            json.endObject()
        }
    }

    /// Who sends a file over HTTP: a partner's system by token, or a portal user in the browser.
    struct Sender: Sendable {
        var partner: String
        var tokenName: String?
        var userEmail: String?
    }

    /// What a multipart form may carry besides its file's bytes (boundaries, part headers, the
    /// fields ``MultipartFileReader`` reads), counted against the upload limit with them.
    static let formOverheadBytes: Int64 = 64 << 10

    /// Streams a file from `request` into `sender`'s inbox and records the upload: the one way a
    /// file arrives over HTTP, for the API and the portal alike.
    /// - Parameters:
    ///   - check: a dry run, unless a form field says otherwise (when `checkInQuery` is false).
    ///   - beforeFile: sees a form's fields that come before its file part, and may refuse the
    ///     request before a byte of the file is stored (the portal checks its CSRF token here).
    func receive(_ request: Request, from sender: Sender, check initialCheck: Bool, checkInQuery: Bool,
                 beforeFile: ([String: String]) throws -> Void = { _ in }, logger: Logger) async throws -> UploadRecord {
        var check = initialCheck
        let limit = min(maxUploadBytes, settings(sender.partner).maxBytes ?? .max)
        let contentType = request.headers[.contentType] ?? ""
        let baseType = contentType.split(separator: ";").first.map { String($0).trimmingSpaces.lowercased() } ?? ""
        // A form's body is its file and a little more: part headers, the check and csrf fields.
        let bodyLimit = baseType == "multipart/form-data" ? limit + Self.formOverheadBytes : limit
        try RequestChecks.requireLength(request, atMost: bodyLimit)
        let receivedAt = clock.utcNow()
        var upload: InboxUpload?
        var fileName = ""
        func begin(_ name: String) throws {
            fileName = try Self.checkedName(name)
            upload = try InboxUpload(root: root, partner: sender.partner, check: check)
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
            // What is not the file counts too: text parts and a second file are passed over
            // unread, but a chunked body of them must still end, at the form's allowance.
            var bodyBytes: Int64 = 0
            do {
                for try await buffer in request.body {
                    try reader.consume(buffer.readableBytesView) { event in
                        switch event {
                        case .fileStarted(let name, let fields):
                            try beforeFile(fields)
                            if !checkInQuery, let field = fields["check"] { check = try Self.flag(field, parameter: "check") }
                            try begin(name)
                        case .fileBytes(let bytes): try bytes.withUnsafeBytes { try append($0) }
                        case .fileEnded: break
                        }
                    }
                    // Counted once the chunk's file bytes are in the upload.
                    bodyBytes += Int64(buffer.readableBytes)
                    if bodyBytes - (upload?.size ?? 0) > Self.formOverheadBytes {
                        throw APIError(.contentTooLarge, "the form carries more than \(Self.formOverheadBytes) bytes besides its file")
                    }
                }
                try reader.finish()
            } catch let failure as MultipartFileReader.Failure {
                throw APIError(.badRequest, failure.message)
            }
            if !checkInQuery, let field = reader.fields["check"], try Self.flag(field, parameter: "check") != check {
                throw APIError(.badRequest, "put the form's check field before its file part, or use ?check=true", parameter: "check")
            }
        } else {
            try beforeFile([:])
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
        let record = try await recordAndDeliver(upload, UploadRecord(
            id: Self.newID(), partner: sender.partner, fileName: fileName, inboxName: fileName, dryRun: upload.check, size: upload.size,
            inode: try upload.inode, tokenName: sender.tokenName, userEmail: sender.userEmail, receivedAt: receivedAt))
        logger.info("file received over HTTP", metadata: ["file": "\(record.inboxName)", "size": "\(record.size)", "check": "\(record.dryRun)", "upload": "\(record.id)"])
        return record
    }

    /// Records `record` (its file named as the client asked), then gives the file its name in the
    /// inbox and records the name it got, `list (2).csv` when that one was taken: what the client
    /// is shown (the journal is matched by inode). Returns the record as delivered.
    func recordAndDeliver(_ upload: InboxUpload, _ record: UploadRecord) async throws -> UploadRecord {
        try await writes.write { store in try store.addUpload(record) }
        var delivered = record
        do {
            // fsync and rename block: off the cooperative pool.
            delivered.inboxName = try await NIOThreadPool.singleton.runIfActive { [fileName = record.fileName] in try upload.deliver(as: fileName) }
        } catch {
            // The file never reached the inbox: no row is left whose inode a later file could reuse.
            let (partner, id) = (record.partner, record.id)
            try? await writes.write { store in try store.removeUpload(partner: partner, id: id) }
            throw error
        }
        if delivered.inboxName != record.inboxName {
            let (id, name, partner) = (record.id, delivered.inboxName, record.partner)
            try? await writes.write { store in try store.renameUpload(partner: partner, id: id, inboxName: name) }
        }
        return delivered
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

    static func flag(_ text: String?, parameter: String) throws(APIError) -> Bool {
        switch text?.lowercased() {
        case nil, "false", "0", "": return false
        case "true", "1", "on": return true
        default: throw APIError(.badRequest, "\(parameter) must be true or false", parameter: parameter)
        }
    }

    static func newID() -> String {
        var generator = SystemRandomNumberGenerator()
        return "up_" + APIToken.base64URL((0..<15).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
    }
}
