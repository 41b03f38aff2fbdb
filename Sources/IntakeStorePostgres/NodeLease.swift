import Dispatch
import IntakeSystem
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// This node's row in `nodes`, renewed on a thread and connection of its own every third of the
/// lease, with what the node is importing; removed when the node stops. Another node treats a
/// node whose lease ran out as dead and takes its reservations (see ``PostgresJournal``); the
/// partner turns it held went with its connection already.
public final class NodeLease: Sendable {
    public let node: String
    private let leaseSeconds: Double
    private let stopped = Mutex(false)
    private let wake = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let connection: Unchecked<PostgresConnection>

    /// Registers node `node` (live from now) and starts renewing its lease; `importing` tells
    /// what the node works on, for `intake nodes`.
    /// - Throws: ``PostgresError`` when the first registration fails.
    public init(url: String, node: String, leaseSeconds: Double = 15, importing: @escaping @Sendable () -> String?) throws(PostgresError) {
        self.node = node
        self.leaseSeconds = leaseSeconds
        connection = Unchecked(try PostgresConnection(url))
        // The first process on a new database creates the schema, `nodes` with it.
        try PostgresSchema.migrate(connection.value)
        try renew(importing: nil)
        DetachedThread.start { [self] in
            while !stopped.withLock({ $0 }) {
                _ = wake.wait(timeout: .now() + .milliseconds(Int(leaseSeconds * 1000 / 3)))
                if stopped.withLock({ $0 }) { break }
                // A failed renewal (the server away) is tried again next time; if the lease runs
                // out meanwhile the others may take this node's reservations, which is safe.
                try? renew(importing: importing())
            }
            _ = try? connection.value.query("DELETE FROM nodes WHERE id = $1", [node])
            finished.signal()
        }
    }

    /// Stops renewing and removes this node's row.
    public func stop() {
        let first = stopped.withLock { done in
            defer { done = true }
            return !done
        }
        guard first else { return }
        wake.signal()
        finished.wait()
    }

    private func renew(importing: String?) throws(PostgresError) {
        try connection.value.reconnectIfBroken()
        try connection.value.query("""
            INSERT INTO nodes (id, host, pid, lease_until, importing) VALUES ($1, $2, $3::integer, now() + make_interval(secs => $4::float8), $5)
            ON CONFLICT (id) DO UPDATE SET last_seen = now(), lease_until = excluded.lease_until, importing = excluded.importing
            """, [node, Self.hostName, String(getpid()), String(leaseSeconds), importing])
    }

    /// A node id unique to this process: host, pid and a random suffix.
    public static func newNodeID() -> String {
        "\(hostName)-\(getpid())-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
    }

    static let hostName: String = {
        var name = [CChar](repeating: 0, count: 256)
        gethostname(&name, name.count - 1)
        return String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }()
}
