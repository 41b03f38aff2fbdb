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
    let reads: any ServeReading
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
            (.get, "/imports", { request, _ in try await signedIn(request) { try await importsPage(request, $0) } }),
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
            (.get, "/customers", { request, _ in try await signedIn(request) { try await customersPage(request, $0) } }),
            (.get, "/operator", { request, _ in try await signedIn(request) { try await operatorPage(request, $0) } }),
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
                } catch is StoreBusy {
                    return busy(request)
                } catch is StoreStopped {
                    return busy(request)
                } catch let error as SystemError where error.code == EEXIST {
                    return problem(request, nil, .conflict, "uploadFailed", detail: "the inbox already holds 100 files of this name")
                } catch let error as SystemError where error.operation == InboxUpload.notAFolderOfItsOwn {
                    context.logger.error("upload refused", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
                    return problem(request, nil, .conflict, "uploadFailed", detail: "inbox/check is not a folder of its own; dry runs are refused until it is a folder again")
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
        let user = try await reads.read { store in try store.user(email: email) }
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
}
