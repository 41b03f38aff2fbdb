import CoreMetrics
import HTTPTypes
import Hummingbird
import IntakeStore
import IntakeSystem
import IntakeWatch
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Turns every error into a JSON:API error document: the API's own ``APIError``s as they are,
/// a route that exists under another method into 405 with `Allow`, an unknown path into 404, a
/// busy store into 503 with `Retry-After`, and anything else into a 500 that shows no internals
/// (the log has them, with the request id).
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = APIContext
    let routes: RouteTable
    let retryAfterSeconds: Int
    /// Requests answered 503 because the store stayed locked past the busy bound (the name is
    /// from when SQLite was the only store; it counts PostgreSQL's lock waits too).
    static let busy = Counter(label: "intake_sqlite_busy_total", dimensions: [("where", "api")])

    func handle(_ request: Request, context: APIContext, next: (Request, APIContext) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return JSONAPI.response(for: error)
        } catch let error as SQLiteError where error.isBusy {
            Self.busy.increment()
            return JSONAPI.response(for: APIError(.serviceUnavailable, "the store is busy; retry after \(retryAfterSeconds) s",
                                                  headers: [.retryAfter: String(retryAfterSeconds)]))
        } catch is StoreStopped {
            return JSONAPI.response(for: APIError(.serviceUnavailable, "Intake is shutting down; retry shortly", headers: [.retryAfter: "5"]))
        } catch let error as SystemError where error.code == EEXIST {
            return JSONAPI.response(for: APIError(.conflict, "the inbox already holds 100 files of this name; rename the file or wait until they are imported"))
        } catch let error as SystemError where error.operation == InboxUpload.notAFolderOfItsOwn {
            context.logger.error("upload refused", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            return JSONAPI.response(for: APIError(.conflict, "inbox/check is not a folder of its own (a link or a file took its place); dry runs are refused until it is a folder again"))
        } catch is StoreBusy {
            Self.busy.increment()
            return JSONAPI.response(for: APIError(.serviceUnavailable, "the store is busy (a file import holds it); retry after \(retryAfterSeconds) s",
                                                  headers: [.retryAfter: String(retryAfterSeconds)]))
        } catch let error as HTTPError where error.status == .notFound {
            let allowed = routes.methods(for: request.uri.path)
            if allowed.isEmpty { return JSONAPI.response(for: APIError(.notFound, "no such resource: \(request.uri.path)")) }
            return JSONAPI.response(for: APIError(.methodNotAllowed, "\(request.method) is not allowed here; use \(allowed.joined(separator: ", "))",
                                                  headers: [.allow: allowed.joined(separator: ", ")]))
        } catch let error as HTTPError {
            return JSONAPI.response(for: APIError(error.status, error.body ?? error.status.reasonPhrase))
        } catch {
            context.logger.error("request failed", metadata: ["method": "\(request.method)", "path": "\(request.uri.path)", "error": "\(error)"])
            return JSONAPI.response(for: APIError(.internalServerError, "the request failed inside Intake; the log has the details under request id \(context.id)"))
        }
    }
}

/// Authenticates `/v4/...` requests by token: the partner comes from the token, never from the
/// URL or body. Missing or unknown tokens get 401 with `WWW-Authenticate`; each failure is
/// logged with the peer's address and the reason, never the token.
struct TokenMiddleware: RouterMiddleware {
    typealias Context = APIContext
    let reads: any ServeReading

    func handle(_ request: Request, context: APIContext, next: (Request, APIContext) async throws -> Response) async throws -> Response {
        guard request.uri.path.hasPrefix("/v4/") || request.uri.path == "/v4" else { return try await next(request, context) }
        let challenge: HTTPFields = [.wwwAuthenticate: #"Token realm="intake", Bearer realm="intake""#]
        guard let header = request.headers[.authorization] else {
            context.logger.notice("API request without a token", metadata: ["peer": "\(context.peer)", "path": "\(request.uri.path)"])
            throw APIError(.unauthorized, "send your API token as \"Authorization: Token token=...\" or \"Authorization: Bearer ...\"", headers: challenge)
        }
        guard let token = APIToken.fromAuthorization(header) else {
            context.logger.notice("API request with an unreadable Authorization header", metadata: ["peer": "\(context.peer)"])
            throw APIError(.unauthorized, "the Authorization header must be \"Token token=...\" or \"Bearer ...\"", headers: challenge)
        }
        let digest = APIToken.digest(token)
        let found = try await reads.read { store in try store.tokenPrincipal(sha256: digest) }
        guard let (principal, stored) = found, APIToken.constantTimeEqual(stored, digest) else {
            context.logger.notice("API request with an unknown or revoked token", metadata: ["peer": "\(context.peer)", "path": "\(request.uri.path)"])
            throw APIError(.unauthorized, "the API token is unknown or was revoked", headers: challenge)
        }
        var context = context
        context.principal = principal
        context.logger[metadataKey: "partner"] = "\(principal.partner)"
        return try await next(request, context)
    }
}

/// The API's routes by path pattern, to tell 405 (the path exists) from 404. Filled while the
/// routes are registered, which happens after the middleware that reads it is added (Hummingbird
/// applies a middleware only to routes added after it), hence a shared, locked table.
final class RouteTable: Sendable {
    private let routes = Mutex<[(segments: [String], method: String)]>([])

    func add(_ method: HTTPRequest.Method, _ path: String) {
        routes.withLock { $0.append((path.split(separator: "/").map(String.init), method.rawValue)) }
    }

    func methods(for path: String) -> [String] {
        let segments = path.split(separator: "/").map(String.init)
        var found: [String] = []
        for route in routes.withLock({ $0 }) where route.segments.count == segments.count {
            let matches = zip(route.segments, segments).allSatisfy { pattern, segment in pattern.hasPrefix(":") || pattern == segment }
            if matches && !found.contains(route.method) { found.append(route.method) }
        }
        return found
    }
}
