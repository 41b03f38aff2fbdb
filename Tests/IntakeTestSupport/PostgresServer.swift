import Foundation

/// A throwaway PostgreSQL cluster from Debian's `postgresql` package, on a free loopback port,
/// started on first use and shared by the tests of one process; each test takes a database of
/// its own (``newDatabase()``).
///
/// The server refuses to run as root, so under root it runs as the `postgres` account the
/// package made. A small shell holds the read end of a pipe whose write end only this process
/// has: when the test process ends, however it ends, the shell sees end-of-file, stops the server
/// and removes its folder. The tests' server runs without fsync (they are about Intake's
/// transactions, not the disk's); the benchmark's is durable, as a production server is.
public final class PostgresServer: Sendable {
    public let port: Int
    /// The folder with the data directory, the socket and the logs.
    public let base: String

    /// The process's cluster, started on first use.
    public static func shared() throws -> PostgresServer { try started.get() }

    private static let started: Result<PostgresServer, any Error> = Result { try PostgresServer(durable: false) }

    /// Starts a cluster of its own; `durable` keeps fsync and full-page writes on; `settings`
    /// are more server settings (`shared_buffers=1GB`), each a `-c` of the server.
    public init(durable: Bool, settings: [String] = []) throws {
        guard let bin = Self.binDirectory() else {
            throw TestFailure("PostgreSQL is not installed (apt-get install postgresql; make test does it)")
        }
        base = NSTemporaryDirectory() + "/intake-pg-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        port = try freeLoopbackPort()
        let script = base + "/cluster.sh"
        try Self.script.write(toFile: script, atomically: true, encoding: .utf8)
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw TestFailure("pipe failed: errno \(errno)") }
        // The read end goes to the shell as its stdin (dup2 clears close-on-exec there); the write
        // end stays open, close-on-exec (no other child may hold it), for the life of this process.
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        let runAs = getuid() == 0 ? "postgres" : ""
        _ = try spawnChild("/bin/sh", [script, bin, base, String(port), runAs, durable ? "on" : "off"] + settings, stdout: base + "/cluster.out", stderr: base + "/cluster.err", stdin: fds[0])
        close(fds[0])
        let ready = waitUntil(timeout: 60) { self.output.contains("ready") || self.output.contains("failed") }
        guard ready, output.contains("ready") else {
            throw TestFailure("PostgreSQL did not start: \(output) \(log(named: "cluster.err")) \(log(named: "initdb.log")) \(log(named: "server.log"))")
        }
    }

    /// A new, empty database, as a libpq URL.
    public func newDatabase() throws -> String {
        let name = "t_\(UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: ""))"
        let made = try psql("postgres", "CREATE DATABASE \(name)")
        guard made.status == 0 else { throw TestFailure("CREATE DATABASE failed: \(made.stderr)") }
        return url(name)
    }

    /// The URL of database `name` as the test superuser `intake`.
    public func url(_ name: String) -> String { "postgres://intake@127.0.0.1:\(port)/\(name)" }

    /// Runs `sql` through psql in database `name` (unaligned, tuples only), for checks written as SQL.
    public func psql(_ name: String, _ sql: String) throws -> ChildResult {
        try runChild("/usr/bin/psql", ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url(name), "-c", sql])
    }

    /// The rows `sql` gives in the database at `url`, one line each, columns joined by `|`.
    public static func rows(_ url: String, _ sql: String) throws -> [String] {
        let result = try runChild("/usr/bin/psql", ["-X", "-q", "-A", "-t", "-F", "|", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql])
        guard result.status == 0 else { throw TestFailure("psql: \(result.stderr)") }
        return result.stdout.split(separator: "\n").map(String.init)
    }

    private var output: String { log(named: "cluster.out") }

    private func log(named name: String) -> String { (try? String(contentsOfFile: base + "/" + name, encoding: .utf8)) ?? "" }

    /// The newest installed server's programs (`/usr/lib/postgresql/<major>/bin`).
    private static func binDirectory() -> String? {
        let root = "/usr/lib/postgresql"
        let majors = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).compactMap(Int.init).sorted()
        return majors.last.map { "\(root)/\($0)/bin" }.flatMap { FileManager.default.isExecutableFile(atPath: $0 + "/postgres") ? $0 : nil }
    }

    /// initdb, the server in the background, `ready` once it accepts connections, then wait for
    /// the test process's pipe to close and clean up.
    private static let script = #"""
        BIN=$1 BASE=$2 PORT=$3 RUNAS=$4 DURABLE=$5
        shift 5
        EXTRA=""
        for setting in "$@"; do EXTRA="$EXTRA -c $setting"; done
        as_owner() { if [ -n "$RUNAS" ]; then setpriv --reuid="$RUNAS" --regid="$RUNAS" --init-groups "$@"; else "$@"; fi; }
        [ -n "$RUNAS" ] && chown "$RUNAS": "$BASE"
        if ! as_owner "$BIN/initdb" -D "$BASE/data" -U intake --auth=trust -E UTF8 --locale=C --no-sync >"$BASE/initdb.log" 2>&1; then
            echo failed; exit 1
        fi
        # Not through the function: a function in the background is a subshell, and $! would be
        # that subshell, not the server the signal below must reach.
        set -- "$BIN/postgres" -D "$BASE/data" -p "$PORT" -k "$BASE" -c listen_addresses=127.0.0.1 \
            -c fsync=$DURABLE -c synchronous_commit=$DURABLE -c full_page_writes=$DURABLE -c max_connections=200 $EXTRA
        if [ -n "$RUNAS" ]; then
            setpriv --reuid="$RUNAS" --regid="$RUNAS" --init-groups "$@" >"$BASE/server.log" 2>&1 &
        else
            "$@" >"$BASE/server.log" 2>&1 &
        fi
        pid=$!
        until "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT"; do
            kill -0 "$pid" 2>/dev/null || { echo failed; exit 1; }
            sleep 0.05
        done
        echo ready
        cat >/dev/null
        kill -INT "$pid"
        wait "$pid"
        rm -rf "$BASE"
        """#
}
