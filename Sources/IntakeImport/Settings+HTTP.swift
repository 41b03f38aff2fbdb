import Yams

extension Settings {
    /// The HTTP side (`intake watch --http`): where it listens and what it accepts.
    public struct HTTP: Sendable, Equatable {
        /// `HOST:PORT`; nil leaves the listener off unless `--http` turns it on.
        public var listen: String?
        /// Largest JSON body (a consumer document).
        public var maxJSONBytes = 1 << 20
        /// Largest file sent to `POST /v4/imports`, unless the partner's `limits.max_bytes` is lower.
        public var maxUploadBytes: Int64 = 1 << 30
        /// How long an API write waits for a file import's write lock before the answer is 503.
        public var busySeconds = 5.0
        /// How long one read of the database may take on PostgreSQL before it fails (a hung
        /// server, a long lock); SQLite's reads of a local file need no bound.
        public var readTimeoutSeconds = 10.0
        /// A portal session ends after this long without a request.
        public var sessionIdleSeconds = 30.0 * 60

        public init() {}
    }

    static func http(_ node: Node) throws(SettingsError) -> HTTP {
        guard let fields = node.mapping else { throw SettingsError(node: node, "'http' needs listen, max_json_bytes, max_upload_bytes, busy_seconds, read_timeout_seconds or session_idle_minutes") }
        var http = HTTP()
        for (key, value) in fields {
            func number(_ range: ClosedRange<Double>) throws(SettingsError) -> Double {
                guard let n = value.string.flatMap(Double.init), range.contains(n) else {
                    throw SettingsError(node: value, "\(key.string ?? "value") must be a number from \(Int(range.lowerBound)) to \(Int(range.upperBound))")
                }
                return n
            }
            switch key.string {
            case "listen":
                guard let text = value.string, HostPort(text) != nil else { throw SettingsError(node: value, "listen must be HOST:PORT, e.g. 127.0.0.1:8080") }
                http.listen = text
            case "max_json_bytes": http.maxJSONBytes = Int(try number(1_024...67_108_864))
            case "max_upload_bytes": http.maxUploadBytes = Int64(try number(1_024...1e15))
            case "busy_seconds": http.busySeconds = try number(0...600)
            case "read_timeout_seconds": http.readTimeoutSeconds = try number(1...3_600)
            case "session_idle_minutes": http.sessionIdleSeconds = try number(1...10_080) * 60
            default: throw SettingsError(node: key, "unknown http setting '\(key.string ?? "?")'")
            }
        }
        return http
    }
}

/// A listen address, `HOST:PORT` or `[IPv6]:PORT`.
public struct HostPort: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int

    /// Reads `text`; nil when it is not `HOST:PORT` with a port from 0 to 65535 (0: any free one).
    public init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65_535).contains(port) else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { return nil }
        self.host = host
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
