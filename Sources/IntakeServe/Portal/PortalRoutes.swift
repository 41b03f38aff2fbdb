import Foundation
import HTTPTypes
import Hummingbird
import IntakeImport
import IntakeRead
import IntakeReport
import IntakeStore
import IntakeSystem
import IntakeWatch
import Logging
import NIOPosix

/// The partner portal and the operator view: server-rendered pages on the API's listener.
///
/// Every page resolves the signed-in user first; a partner user sees only that partner's
/// imports, files and customers: another partner's import, result or original is answered 404,
/// exactly like an id that does not exist, and a lookup of another partner's customer finds nothing. Every form carries the
/// session's CSRF token and a POST without it is refused (403). Files sent from the browser go
/// through the API's own upload path (``ImportRoutes/receive(_:from:check:checkInQuery:beforeFile:logger:)``).
struct PortalRoutes: Sendable {
    let root: DataRoot
    let reads: ReadPool
    let sessions: PortalSessions
    let limiter: SignInLimiter
    let imports: ImportRoutes
    let health: ServiceHealth?
    let settings: @Sendable (String) -> Settings.Partner
    let clock: any TimeSource

    /// Rejected rows shown on an import's page; the result workbook has them all.
    static let rejectedRowsShown = 20

    func register(on router: Router<APIContext>, routes: RouteTable) {
        let pages: [(HTTPRequest.Method, String, @Sendable (Request, APIContext) async throws -> Response)] = [
            (.get, "/", { request, _ in try await home(request) }),
            (.get, "/sign-in", { request, _ in signInPage(request, message: nil, email: "") }),
            (.post, "/sign-in", { request, context in try await signIn(request, context) }),
            (.post, "/sign-out", { request, _ in try await signOut(request) }),
            (.get, "/imports", { request, _ in try await signedIn(request) { try importsPage(request, $0) } }),
            (.get, "/progress.json", { request, _ in try await signedIn(request) { progress($0) } }),
            (.get, "/imports/:id", { request, context in try await signedIn(request) { try await detailPage(request, context, $0) } }),
            (.get, "/imports/:id/result.xlsx", { request, context in try await signedIn(request) { try await download(request, context, $0, original: false) } }),
            (.get, "/imports/:id/original", { request, context in try await signedIn(request) { try await download(request, context, $0, original: true) } }),
            (.post, "/imports/:id/run", { request, context in try await signedIn(request) { try await runForReal(request, context, $0) } }),
            (.get, "/upload", { request, _ in try await signedIn(request) { try uploadPage(request, $0, message: nil) } }),
            (.post, "/upload", { request, context in try await signedIn(request) { try await upload(request, context, $0) } }),
            (.get, "/template", { request, _ in try await signedIn(request) { try templatePage(request, $0) } }),
            (.get, "/template.xlsx", { request, context in try await signedIn(request) { try await templateFile(request, context, $0, xlsx: true) } }),
            (.get, "/template.csv", { request, context in try await signedIn(request) { try await templateFile(request, context, $0, xlsx: false) } }),
            (.get, "/customers", { request, _ in try await signedIn(request) { try customersPage(request, $0) } }),
            (.get, "/operator", { request, _ in try await signedIn(request) { try operatorPage(request, $0) } }),
        ]
        for (method, path, handler) in pages {
            router.on(RouterPath(path), method: method) { request, context in
                // The language switch works on every page: remember the choice and show the page again.
                if request.method == .get, let lang = request.uri.queryParameters["lang"].map(String.init), let language = PortalLanguage(rawValue: lang) {
                    // The path's segments rejoined: `//host/...` would send the browser elsewhere.
                    var response = Response(status: .seeOther, headers: [.location: "/" + request.uri.path.split(separator: "/").joined(separator: "/")])
                    response.setCookie(PortalSessions.cookie(PortalSessions.languageCookie, language.rawValue, secure: PortalSessions.isSecure(request), maxAge: 365 * 86_400))
                    return response
                }
                do {
                    return try await handler(request, context)
                } catch let error as SQLiteError where error.isBusy {
                    return busy(request)
                } catch is GroupCommitter.Busy {
                    return busy(request)
                } catch is GroupCommitter.Stopped {
                    return busy(request)
                } catch let error as SystemError where error.code == EEXIST {
                    return problem(request, nil, .conflict, "uploadFailed", detail: "the inbox already holds 100 files of this name")
                } catch let error as HTTPError {
                    return problem(request, nil, error.status, "forbidden", detail: error.body ?? error.status.reasonPhrase)
                } catch {
                    // Pages answer in HTML: the details go to the log under the request id.
                    context.logger.error("portal request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
                    return problem(request, nil, .internalServerError, "failed", detail: String(format: PortalLanguage.chosen(request).text["failed"]!, context.id))
                }
            }
            routes.add(method, path)
        }
    }

    // MARK: Pages and their common parts

    /// The context every template gets: the words, the language, the user and the CSRF token.
    func page(_ request: Request, _ session: PortalSession?, title: String, message: String? = nil, _ extra: [String: Any] = [:]) -> [String: Any] {
        let language = PortalLanguage.chosen(request)
        var context: [String: Any] = ["t": language.text, "lang": language.rawValue, "pageTitle": title]
        if let session {
            var user: [String: Any] = ["email": session.user.email, "isAdmin": session.user.isAdmin]
            if let partner = session.user.partner { user["partner"] = partner }
            context["user"] = user
            context["csrf"] = session.csrf
        }
        if let message { context["message"] = message }
        return context.merging(extra) { _, new in new }
    }

    func html(_ template: String, _ context: [String: Any], status: HTTPResponse.Status = .ok, cookies: [Cookie] = []) -> Response {
        var response = Response(status: status, headers: [
            .contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
            // Pages load nothing from elsewhere; the inline style and script are ours.
            .contentSecurityPolicy: "default-src 'self'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; frame-ancestors 'none'",
            HTTPField.Name("X-Content-Type-Options")!: "nosniff",
        ], body: ResponseBody(byteBuffer: ByteBuffer(string: PortalTemplates.render(template, context))))
        for cookie in cookies { response.setCookie(cookie) }
        return response
    }

    func problem(_ request: Request, _ session: PortalSession?, _ status: HTTPResponse.Status, _ key: String, detail: String? = nil) -> Response {
        let text = PortalLanguage.chosen(request).text
        return html("problem", page(request, session, title: String(status.code), ["text": detail ?? text[key] ?? key]), status: status)
    }

    func notFound(_ request: Request, _ session: PortalSession) -> Response { problem(request, session, .notFound, "forbidden") }

    /// A write waited for a file import's lock past `busy_seconds`.
    func busy(_ request: Request) -> Response {
        var response = problem(request, nil, .serviceUnavailable, "busy")
        response.headers[.retryAfter] = "5"
        return response
    }

    static func redirect(_ location: String) -> Response { Response(status: .seeOther, headers: [.location: location]) }

    /// Runs `body` for a signed-in user; others are sent to sign in (pages) or get 401 (data).
    func signedIn(_ request: Request, _ body: (PortalSession) async throws -> Response) async throws -> Response {
        guard let session = try await sessions.session(request) else {
            if request.uri.path.hasSuffix(".json") { return Response(status: .unauthorized) }
            return Self.redirect("/sign-in")
        }
        return try await body(session)
    }

    /// The partner a page is about: a partner user's own. An admin has none (the operator view).
    func partner(of session: PortalSession) -> String? { session.user.partner }

    /// A urlencoded form, at most 64 KiB.
    func form(_ request: Request) async throws -> [String: String] {
        var request = request
        return Self.urlencoded(String(buffer: try await request.collectBody(upTo: 64 << 10)))
    }

    /// `application/x-www-form-urlencoded` fields, as browsers send forms and query strings
    /// (`+` is a space, then percent-decoding).
    static func urlencoded(_ text: String) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) -> String { String(s).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? "" }
            if let key = parts.first { fields[decode(key)] = parts.count > 1 ? decode(parts[1]) : "" }
        }
        return fields
    }

    /// A query parameter decoded like a form field (a GET form sends a space as `+`).
    static func queryValue(_ request: Request, _ name: String) -> String? {
        urlencoded(request.uri.query ?? "")[name]
    }

    func checkCSRF(_ sent: String?, _ session: PortalSession) -> Bool {
        guard let sent else { return false }
        return APIToken.constantTimeEqual(sent, session.csrf)
    }

    // MARK: Sign-in

    func home(_ request: Request) async throws -> Response {
        guard let session = try await sessions.session(request) else { return Self.redirect("/sign-in") }
        return Self.redirect(session.user.partner == nil ? "/operator" : "/imports")
    }

    func signInPage(_ request: Request, message: String?, email: String, status: HTTPResponse.Status = .ok) -> Response {
        let token = String(APIToken.generate().dropFirst(4))
        let cookie = PortalSessions.cookie(PortalSessions.signInCookie, token, secure: PortalSessions.isSecure(request), maxAge: 3600)
        return html("signIn", page(request, nil, title: PortalLanguage.chosen(request).text["signIn"]!, message: message,
                                   ["signInToken": token, "email": email]), status: status, cookies: [cookie])
    }

    func signIn(_ request: Request, _ context: APIContext) async throws -> Response {
        let text = PortalLanguage.chosen(request).text
        let fields = try await form(request)
        guard let sent = fields["csrf"], let expected = request.cookies[PortalSessions.signInCookie]?.value,
              APIToken.constantTimeEqual(sent, expected) else {
            return problem(request, nil, .forbidden, "csrf")
        }
        let email = (fields["email"] ?? "").trimmingCharacters(in: .whitespaces)
        let password = fields["password"] ?? ""
        guard email.utf8.count <= 254, password.utf8.count <= 1024 else {
            return signInPage(request, message: text["badCredentials"], email: "", status: .unauthorized)
        }
        let address = Self.clientAddress(request, context)
        if let wait = limiter.begin(email: email, address: address) {
            context.logger.notice("portal sign-in refused: too many failures", metadata: ["email": "\(email)", "peer": "\(address)"])
            var response = signInPage(request, message: String(format: text["tooMany"]!, max(1, (wait + 59) / 60)), email: email, status: .tooManyRequests)
            response.headers[.retryAfter] = String(wait)
            return response
        }
        let user = try reads.read { database in try PortalAccounts(database: database).user(email: email) }
        // bcrypt is slow on purpose: off the cooperative threads; a decoy hash for unknown emails.
        let hash = user?.passwordHash ?? PortalPassword.decoy
        let matches = try await NIOThreadPool.singleton.runIfActive { PortalPassword.verify(password, hash: hash) }
        guard let user, matches else {
            context.logger.notice("portal sign-in failed", metadata: ["email": "\(email)", "peer": "\(address)"])
            return signInPage(request, message: text["badCredentials"], email: email, status: .unauthorized)
        }
        limiter.succeeded(email: email, address: address)
        let cookie = try await sessions.start(for: user, secure: PortalSessions.isSecure(request))
        context.logger.info("portal sign-in", metadata: ["email": "\(user.email)", "peer": "\(address)"])
        var response = Self.redirect(user.partner == nil ? "/operator" : "/imports")
        response.setCookie(cookie)
        return response
    }

    /// The browser's address: the socket's peer, or behind the proxy on loopback the address
    /// nginx appended last to `X-Forwarded-For` (the one it saw; earlier entries are the client's
    /// word). A process on the host itself could send the header too; the per-account limit
    /// holds regardless.
    static func clientAddress(_ request: Request, _ context: APIContext) -> String {
        let peer = context.peer
        guard peer.hasPrefix("127.") || peer == "::1" || peer.hasPrefix("::ffff:127."),
              let forwarded = request.headers[HTTPField.Name("X-Forwarded-For")!],
              let last = forwarded.split(separator: ",").last?.trimmingCharacters(in: .whitespaces), !last.isEmpty else { return context.peer }
        return last
    }

    func signOut(_ request: Request) async throws -> Response {
        guard let session = try await sessions.session(request) else { return Self.redirect("/sign-in") }
        guard checkCSRF(try await form(request)["csrf"], session) else { return problem(request, session, .forbidden, "csrf") }
        try await sessions.end(request)
        var response = Self.redirect("/sign-in")
        response.setCookie(PortalSessions.cookie(PortalSessions.cookie, "", secure: PortalSessions.isSecure(request), maxAge: 0))
        return response
    }

    // MARK: Imports

    static func time(_ utc: String?) -> [String: String]? {
        guard let utc, utc.count == 19 else { return nil }
        return ["iso": utc.replacingOccurrences(of: " ", with: "T") + "Z", "text": utc]
    }

    func statusWord(_ record: ImportRecord, _ text: [String: String]) -> String {
        switch record.status {
        case .completed: text["completed"]!
        case .checked: text["checked"]!
        case .duplicate: text["duplicate"]!
        case .rejected: text["statusRejected"]!
        case .running: text["statusRunning"]!
        }
    }

    func importsPage(_ request: Request, _ session: PortalSession) throws -> Response {
        guard let partner = partner(of: session) else { return Self.redirect("/operator") }
        let text = PortalLanguage.chosen(request).text
        let (records, channels) = try reads.read { database in
            let records = try ImportLog(database: database).list(partner: partner, limit: 100)
            return (records, try Uploads(database: database).channels(partner: partner, importIDs: records.map(\.id)))
        }
        let rows: [[String: Any]] = records.map { record in
            var row: [String: Any] = [
                "id": record.id, "fileName": record.fileName, "status": statusWord(record, text),
                "statusClass": record.status == .rejected ? "rejected-file" : record.status.rawValue,
                "created": record.created, "updated": record.updated, "unchanged": record.unchanged, "rejected": record.rejected,
                "via": text[channels[record.id] ?? "sftp"] ?? "",
            ]
            if let time = Self.time(record.startedAt) { row["received"] = time }
            return row
        }
        let running = LiveProgress.shared.running(partner: partner).map { ["journalEntry": $0.journalEntry, "fileName": $0.fileName, "rows": $0.rows] as [String: Any] }
        let backlog = root.inboxBacklog()[partner] ?? 0
        var message: String?
        if let received = Self.queryValue(request, "received") { message = String(format: text["uploaded"]!, received) }
        // After an upload the page follows it: until its import has finished, the page's script
        // reloads it (without the script, the Refresh link does the same).
        var pending = false
        if let id = request.uri.queryParameters["upload"].map(String.init) {
            let state = try reads.read { database -> UploadProgress.State? in
                let uploads = Uploads(database: database)
                return try uploads.find(partner: partner, id: id).map { try uploads.progress(of: $0).state }
            }
            pending = state == .waiting || state == .importing
        }
        return html("imports", page(request, session, title: text["imports"]!, message: message,
                                    ["imports": rows, "hasImports": !rows.isEmpty, "running": running, "hasRunning": !running.isEmpty,
                                     "backlog": backlog, "pending": pending]))
    }

    func progress(_ session: PortalSession) -> Response {
        let partner = partner(of: session)
        var json = JSONWriter()
        json.beginObject()
        json.key("running")
        json.beginArray()
        for running in LiveProgress.shared.running(partner: partner) {
            json.beginObject()
            json.member("journal_entry", number: running.journalEntry)
            json.member("file_name", running.fileName)
            json.member("rows", number: Int64(running.rows))
            json.endObject()
        }
        json.endArray()
        let waiting = partner.map { root.inboxBacklog()[$0] ?? 0 } ?? 0
        json.member("waiting", number: Int64(waiting))
        json.endObject()
        return Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: json.bytes)))
    }

    /// The partner's import `id` (a file import, not an API write), or nil: another partner's
    /// import is not found, exactly like one that does not exist.
    func record(_ context: APIContext, _ session: PortalSession) throws -> ImportRecord? {
        guard let partner = partner(of: session), let id = context.parameters.get("id").flatMap(Int64.init) else { return nil }
        return try reads.read { database in try ImportLog(database: database).findFile(partner: partner, id: id) }
    }

    func detailPage(_ request: Request, _ context: APIContext, _ session: PortalSession) async throws -> Response {
        guard let record = try record(context, session) else { return notFound(request, session) }
        let text = PortalLanguage.chosen(request).text
        let original = try reads.read { database in try Journal(database: database).archivedFile(partner: record.partner, importID: record.id) }
        var facts: [String: Any] = [
            "id": record.id, "fileName": record.fileName, "status": statusWord(record, text), "dryRun": record.status == .checked,
            "mode": record.mode ?? "", "rowsRead": record.rowsRead, "created": record.created, "updated": record.updated,
            "unchanged": record.unchanged, "skipped": record.skipped, "rejected": record.rejected,
        ]
        if let error = record.error { facts["error"] = error }
        if let time = Self.time(record.startedAt) { facts["received"] = time }
        let resultPath = record.resultPath.flatMap { FileSystem.exists($0) ? $0 : nil }
        // Reading the workbook blocks (and may scan a long Rows sheet): off the cooperative threads.
        let rejectedRows = record.rejected > 0 && resultPath != nil
            ? try await NIOThreadPool.singleton.runIfActive { Self.firstRejectedRows(resultPath!) } : []
        return html("detail", page(request, session, title: record.fileName, [
            "record": facts, "hasResult": resultPath != nil, "hasOriginal": original.map(FileSystem.exists) ?? false,
            "canRun": record.status == .checked && (original.map(FileSystem.exists) ?? false),
            "rejectedRows": rejectedRows, "hasRejectedRows": !rejectedRows.isEmpty,
        ]))
    }

    /// The first rejected lines of a result workbook's Rows sheet, read with Intake's own reader.
    static func firstRejectedRows(_ path: String) -> [[String: String]] {
        var options = ReadOptions()
        options.sheet = "Rows"
        guard let table = try? Spreadsheet.open(path, options: options) else { return [] }
        var rows: [[String: String]] = []
        while rows.count < rejectedRowsShown, let row = try? table.nextRow() {
            guard row.cells.count >= 4, row.cells[2] == "rejected" else { continue }
            rows.append(["row": row.cells[0], "externalID": row.cells[1], "reason": row.cells[3]])
        }
        return rows
    }

    func download(_ request: Request, _ context: APIContext, _ session: PortalSession, original: Bool) async throws -> Response {
        guard let record = try record(context, session) else { return notFound(request, session) }
        let path = original
            ? try reads.read { database in try Journal(database: database).archivedFile(partner: record.partner, importID: record.id) }
            : record.resultPath
        guard let path, FileSystem.exists(path) else { return notFound(request, session) }
        // The archived copy is named `<import>-<processing name>`; the partner gets their own name.
        let name = original ? record.fileName : FileSystem.baseName(of: path)
        let lowered = name.lowercased()
        let type = lowered.hasSuffix(".xlsx") ? ImportRoutes.xlsxType : lowered.hasSuffix(".csv") ? "text/csv" : "application/octet-stream"
        return Response(status: .ok, headers: [
            .contentType: type,
            .contentDisposition: "attachment; filename=\"\(name.replacing("\"", with: ""))\"; filename*=UTF-8''\(Query.encode(name))",
        ], body: try await FileIO().loadFile(path: path, context: context))
    }

    /// A dry run's file, imported for real: its archived copy goes into the inbox like an upload.
    func runForReal(_ request: Request, _ context: APIContext, _ session: PortalSession) async throws -> Response {
        guard checkCSRF(try await form(request)["csrf"], session) else { return problem(request, session, .forbidden, "csrf") }
        guard let record = try record(context, session), record.status == .checked,
              let path = try reads.read({ database in try Journal(database: database).archivedFile(partner: record.partner, importID: record.id) }),
              FileSystem.exists(path) else { return notFound(request, session) }
        // Copying a file of up to the upload limit blocks: off the cooperative threads.
        let upload = try await NIOThreadPool.singleton.runIfActive { [root] in
            let upload = try InboxUpload(root: root, partner: record.partner, check: false)
            let source = try FileDescriptor(opening: path)
            let chunk = ChunkBuffer(count: 1 << 20)
            while true {
                let n = try source.read(into: chunk.raw)
                if n == 0 { break }
                try upload.write(UnsafeRawBufferPointer(rebasing: chunk.raw[0..<n]))
            }
            return upload
        }
        let entry = UploadRecord(id: ImportRoutes.newID(), partner: record.partner, fileName: record.fileName,
                                 inboxName: record.fileName, dryRun: false, size: upload.size, inode: try upload.inode, tokenName: nil,
                                 userEmail: session.user.email, receivedAt: clock.utcNow())
        try await imports.writes.write { database in try Uploads(database: database).add(entry) }
        let name = try await NIOThreadPool.singleton.runIfActive { [fileName = record.fileName] in try upload.deliver(as: fileName) }
        context.logger.info("dry run sent for real from the portal", metadata: ["import": "\(record.id)", "file": "\(name)", "user": "\(session.user.email)"])
        return Self.redirect("/imports?received=" + Query.encode(name) + "&upload=" + entry.id)
    }

    // MARK: Upload

    func uploadPage(_ request: Request, _ session: PortalSession, message: String?, status: HTTPResponse.Status = .ok) throws -> Response {
        guard let partner = partner(of: session) else { return notFound(request, session) }
        let text = PortalLanguage.chosen(request).text
        let limit = min(imports.maxUploadBytes, settings(partner).maxBytes ?? .max)
        return html("upload", page(request, session, title: text["uploadTitle"]!, message: message,
                                   ["limitText": String(format: text["limit"]!, Self.bytes(limit))]), status: status)
    }

    static func bytes(_ n: Int64) -> String {
        if n >= 1 << 30 && n % (1 << 30) == 0 { return "\(n >> 30) GiB" }
        if n >= 1 << 20 { return "\(n >> 20) MiB" }
        if n >= 1 << 10 { return "\(n >> 10) KiB" }
        return "\(n) B"
    }

    func upload(_ request: Request, _ context: APIContext, _ session: PortalSession) async throws -> Response {
        guard let partner = partner(of: session) else { return notFound(request, session) }
        let text = PortalLanguage.chosen(request).text
        do {
            let record = try await imports.receive(request, from: .init(partner: partner, userEmail: session.user.email), check: false, checkInQuery: false,
                                                   beforeFile: { fields throws(APIError) in
                                                       guard checkCSRF(fields["csrf"], session) else { throw APIError(.forbidden, "csrf") }
                                                   }, logger: context.logger)
            return Self.redirect("/imports?received=" + Query.encode(record.inboxName) + "&upload=" + record.id)
        } catch let error as APIError where error.status == .forbidden {
            return problem(request, session, .forbidden, "csrf")
        } catch let error as APIError where error.status == .contentTooLarge {
            let limit = min(imports.maxUploadBytes, settings(partner).maxBytes ?? .max)
            return try uploadPage(request, session, message: String(format: text["tooLarge"]!, Self.bytes(limit)), status: .contentTooLarge)
        } catch let error as APIError {
            return try uploadPage(request, session, message: String(format: text["uploadFailed"]!, error.items.map(\.detail).joined(separator: "; ")), status: error.status)
        }
    }

    // MARK: Template

    /// The template's columns from the partner's settings: the required columns under the
    /// partner's own names where it has aliases, then its custom columns.
    func templateColumns(_ partner: String) -> [TemplateWorkbook.Column] {
        let aliases = settings(partner).columns
        func name(_ field: String) -> String { aliases.first { $0.value == field }?.key ?? field }
        var columns = [
            TemplateWorkbook.Column(header: name("external_id"), example: "C-1001", explanation: "Required. Your id for the customer, unique in the file; a second row with the same id is rejected. Up to 1024 characters."),
            TemplateWorkbook.Column(header: name("email"), example: "anna@example.com", explanation: "An email address, or empty."),
            TemplateWorkbook.Column(header: name("name"), example: "Anna Petrova", explanation: "The customer's name, or empty."),
            TemplateWorkbook.Column(header: name("phone"), example: "+79001234567", explanation: "A phone number with 5 to 15 digits (spaces, dashes, brackets and a leading + allowed), or empty."),
            TemplateWorkbook.Column(header: name("created_at"), example: "2018-01-01 00:11:22", explanation: "When the customer was created, as YYYY-MM-DD HH:MM:SS (2018-01-01 00:11:22), or empty."),
        ]
        let required: Set<String> = ["external_id", "email", "name", "phone", "created_at"]
        for (alias, key) in aliases.sorted(by: { $0.key < $1.key }) where !required.contains(key) {
            columns.append(.init(header: alias, example: "", explanation: "Custom attribute \(key): any text, stored as you send it."))
        }
        columns.append(.init(header: "city", example: "Moscow", explanation: "Any other column becomes a custom attribute of the customer under its header (here: city). Delete or rename it as you need."))
        return columns
    }

    func templatePage(_ request: Request, _ session: PortalSession) throws -> Response {
        guard let partner = partner(of: session) else { return notFound(request, session) }
        let columns = templateColumns(partner).map { ["header": $0.header, "explanation": $0.explanation] }
        return html("template", page(request, session, title: PortalLanguage.chosen(request).text["templateTitle"]!, ["columns": columns]))
    }

    func templateFile(_ request: Request, _ context: APIContext, _ session: PortalSession, xlsx: Bool) async throws -> Response {
        guard let partner = partner(of: session) else { return notFound(request, session) }
        let columns = templateColumns(partner)
        let body: ByteBuffer
        if xlsx {
            let path = root.state + "/tmp-template-\(UUID().uuidString).xlsx"
            defer { try? FileSystem.removeFile(path) }
            try await NIOThreadPool.singleton.runIfActive { try TemplateWorkbook.write(path: path, columns: columns) }
            body = ByteBuffer(bytes: try Data(contentsOf: URL(fileURLWithPath: path)))
        } else {
            func field(_ s: String) -> String {
                guard s.contains(where: { ",\"\n\r".contains($0) }) else { return s }
                return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
            }
            let header: String = columns.map { field($0.header) }.joined(separator: ",")
            let example: String = columns.map { field($0.example) }.joined(separator: ",")
            body = ByteBuffer(string: header + "\r\n" + example + "\r\n")
        }
        let name = "\(partner)-customers-template.\(xlsx ? "xlsx" : "csv")"
        return Response(status: .ok, headers: [
            .contentType: xlsx ? ImportRoutes.xlsxType : "text/csv; charset=utf-8",
            .contentDisposition: "attachment; filename=\"\(name)\"",
        ], body: ResponseBody(byteBuffer: body))
    }

    // MARK: Customers

    func customersPage(_ request: Request, _ session: PortalSession) throws -> Response {
        guard let partner = partner(of: session) else { return notFound(request, session) }
        let text = PortalLanguage.chosen(request).text
        let query = Self.queryValue(request, "external_id") ?? ""
        var extra: [String: Any] = ["query": query, "searched": !query.isEmpty]
        if !query.isEmpty {
            let (customer, history) = try reads.read { database in
                (try CustomerStore(database: database, partner: partner).find(query),
                 try ImportHistory(database: database).history(partner: partner, externalID: query))
            }
            if let customer {
                extra["customer"] = [
                    "externalID": customer.externalID, "email": customer.email ?? "", "name": customer.name ?? "", "phone": customer.phone ?? "",
                    "createdAt": customer.createdAt ?? "", "customAttributes": customer.customAttributes,
                    "history": history.reversed().map { entry -> [String: Any] in
                        var row: [String: Any] = ["importID": entry.importID, "fileName": entry.fileName, "action": entry.action.rawValue, "values": entry.values ?? ""]
                        if let time = Self.time(entry.at) { row["at"] = time }
                        return row
                    },
                ] as [String: Any]
            }
        }
        return html("customers", page(request, session, title: text["customers"]!, extra))
    }

    // MARK: Operator

    func operatorPage(_ request: Request, _ session: PortalSession) throws -> Response {
        guard session.user.isAdmin else { return notFound(request, session) }
        let text = PortalLanguage.chosen(request).text
        let records = try reads.read { database in try ImportLog(database: database).list(partner: nil, limit: 200) }
        func row(_ record: ImportRecord) -> [String: Any] {
            var row: [String: Any] = [
                "partner": record.partner, "fileName": record.fileName, "status": statusWord(record, text), "error": record.error ?? "",
                "created": record.created, "updated": record.updated, "unchanged": record.unchanged, "rejected": record.rejected,
            ]
            if let time = Self.time(record.startedAt) { row["received"] = time }
            return row
        }
        let uptime = Int(health?.uptimeSeconds ?? 0)
        let problems = records.filter { $0.status == .rejected }.prefix(50).map(row)
        return html("operator", page(request, session, title: text["operator"]!, [
            "version": IntakeVersion.string,
            "uptime": "\(uptime / 86_400)d \(uptime % 86_400 / 3600)h \(uptime % 3600 / 60)m",
            "backlog": root.inboxBacklog().sorted { $0.key < $1.key }.map { ["partner": $0.key, "count": $0.value] as [String: Any] },
            "problems": problems, "hasProblems": !problems.isEmpty,
            "recent": records.prefix(50).map(row),
        ]))
    }
}
