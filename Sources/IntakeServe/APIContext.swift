import Hummingbird
import IntakeStore
import Logging
import NIOCore

/// The per-request context: Hummingbird's core storage, the peer's address (for the log of
/// failed sign-ins) and, once ``TokenMiddleware`` accepted the token, whose request it is.
struct APIContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    var principal: APIPrincipal?
    let peer: String

    init(source: ApplicationRequestContextSource) {
        coreContext = CoreRequestContextStorage(source: source)
        peer = source.channel.remoteAddress?.ipAddress ?? "unknown"
    }

    /// The authenticated partner; routes behind ``TokenMiddleware`` always have one.
    var partner: APIPrincipal {
        get throws(APIError) {
            guard let principal else { throw APIError(.unauthorized, "authentication is required") }
            return principal
        }
    }
}
