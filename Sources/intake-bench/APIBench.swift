import IntakeSystem

#if canImport(Glibc)
import Glibc
#endif

/// The API part of `make bench`: durable PUTs through a live `intake watch --http` on loopback,
/// driven by wrk (Debian) with a Lua script that gives every request its own external_id, at 1
/// and 64 connections; next to the floor of single-row autocommit INSERTs into a database with
/// the same settings (WAL, `synchronous=FULL`); and the API while a file import holds the store.
enum APIBench {
    struct Load {
        var label: String
        var requestsPerSecond: Double
        var p50ms: Double
        var p99ms: Double
        /// Responses other than 2xx (503 while a file import holds the store).
        var non2xx: Int
        var requests: Int
    }

    static let seconds = 10

    /// Runs the API bench on a fresh root under `scratch`; `bigCSV` is imported meanwhile for the last lines.
    static func run(intake: String, scratch: String, bigCSV: String?) throws -> [Load] {
        let root = scratch + "/api-root"
        _ = try? Bench.run(["/bin/rm", "-rf", root])
        try FileSystem.createDirectories(root + "/partners/bench/inbox")
        let token = try tokenFrom(intake: intake, root: root)
        let port = 18_000 + Int(getpid() % 1000)
        let server = try Bench.spawn([intake, "watch", "--root", root, "--http", "127.0.0.1:\(port)"], log: scratch + "/api-server.log")
        defer {
            kill(server, SIGTERM)
            var status: Int32 = 0
            waitpid(server, &status, 0)
        }
        try waitForPort(port)
        let script = scratch + "/put.lua"
        try writeText(script, luaScript)
        let url = "http://127.0.0.1:\(port)"

        var loads: [Load] = []
        for connections in [1, 64] {
            loads.append(try wrk(label: "PUT, \(connections) connection\(connections == 1 ? "" : "s")", url: url, script: script,
                                 connections: connections, arguments: [token, "c\(connections)"]))
            Bench.log("  \(loads.last!.label): \(Int(loads.last!.requestsPerSecond)) req/s, p99 \(Bench.format(loads.last!.p99ms)) ms")
        }
        loads.append(try floor(scratch: scratch))
        Bench.log("  \(loads.last!.label): \(Int(loads.last!.requestsPerSecond)) inserts/s")

        if let bigCSV {
            // A file import in its own process holds the write lock for its whole transaction.
            let importer = try Bench.spawn([intake, "import", bigCSV, "--root", root, "--partner", "bench"], log: scratch + "/api-import.log")
            let during = try wrk(label: "PUT, 8 connections, during a file import", url: url, script: script, connections: 8, arguments: [token, "during"])
            let reads = try wrk(label: "GET, 8 connections, during a file import", url: url, script: script, connections: 8, arguments: [token, "during", "get"])
            var status: Int32 = 0
            waitpid(importer, &status, 0)
            loads += [during, reads]
            Bench.log("  \(during.label): p99 \(Bench.format(during.p99ms)) ms, \(during.non2xx) answered 503")
        }
        return loads
    }

    /// Single-row autocommit INSERTs through the sqlite3 shell: one fsync each, the rate a
    /// store without group commit could reach.
    static func floor(scratch: String) throws -> Load {
        let db = scratch + "/floor-api.db", sql = scratch + "/floor-api.sql"
        _ = try? Bench.run(["/bin/rm", "-f", db, db + "-wal", db + "-shm"])
        let rows = 2_000
        var text = "PRAGMA journal_mode=WAL;\nPRAGMA synchronous=FULL;\nCREATE TABLE customers (partner TEXT, external_id TEXT, name TEXT, PRIMARY KEY (partner, external_id)) WITHOUT ROWID;\n"
        for n in 0..<rows { text += "INSERT INTO customers VALUES ('bench', 'f\(n)', 'N \(n)');\n" }
        try writeText(sql, text)
        let measured = try Bench.timed(["/bin/sh", "-c", "/usr/bin/sqlite3 '\(db)' < '\(sql)'"])
        return Load(label: "floor: sqlite3 autocommit INSERT, 1 at a time", requestsPerSecond: Double(rows) / measured.seconds,
                    p50ms: 1000 * measured.seconds / Double(rows), p99ms: .nan, non2xx: 0, requests: rows)
    }

    static func wrk(label: String, url: String, script: String, connections: Int, arguments: [String]) throws -> Load {
        let out = "/tmp/intake-bench-wrk-\(getpid()).out"
        let threads = min(2, connections)
        let command = "/usr/bin/wrk -t\(threads) -c\(connections) -d\(seconds)s --timeout 30s -s '\(script)' '\(url)' -- \(arguments.map { "'\($0)'" }.joined(separator: " ")) > '\(out)'"
        let (status, stderr) = try Bench.run(["/bin/sh", "-c", command])
        guard status == 0 else { throw BenchError("wrk failed: \(stderr)") }
        let text = (try? readText(out)) ?? ""
        unlink(out)
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("RESULT ") }) else { throw BenchError("wrk printed no result: \(text)") }
        let fields = Dictionary(line.dropFirst(7).split(separator: " ").compactMap { pair -> (String, Double)? in
            let kv = pair.split(separator: "=")
            return kv.count == 2 ? (String(kv[0]), Double(kv[1]) ?? .nan) : nil
        }, uniquingKeysWith: { a, _ in a })
        let requests = Int(fields["requests"] ?? 0)
        return Load(label: label, requestsPerSecond: Double(requests) / (fields["seconds"] ?? 1), p50ms: fields["p50ms"] ?? .nan,
                    p99ms: fields["p99ms"] ?? .nan, non2xx: Int(fields["non2xx"] ?? 0), requests: requests)
    }

    /// wrk's script: each thread numbers its own requests, so every PUT names a new external_id
    /// (`<prefix>-<thread>-<n>`); `get` reads customers written earlier instead.
    static let luaScript = """
        local count = 0
        local threads = {}
        function setup(thread)
            table.insert(threads, thread)
            thread:set("tid", #threads)
        end
        function init(args)
            token = args[1]
            prefix = args[2]
            mode = args[3] or "put"
        end
        function request()
            count = count + 1
            if mode == "get" then
                -- From 2: wrk builds (and drops) one request per thread before it sends any, so
                -- the PUT runs never sent number 1.
                return wrk.format("GET", "/v4/consumers/c64-" .. tid .. "-" .. (count % 1000 + 2), {["Authorization"] = "Bearer " .. token})
            end
            local id = prefix .. "-" .. tid .. "-" .. count
            local body = '{"data":{"type":"consumers","attributes":{"email":"' .. id .. '@example.com","name":"Customer ' .. id .. '","phone":"+1555' .. count .. '","custom_attributes":{"tier":"gold"}}}}'
            return wrk.format("PUT", "/v4/consumers/" .. id, {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/vnd.api+json"}, body)
        end
        function done(summary, latency, requests)
            local non2xx = summary.errors.status
            io.write(string.format("RESULT requests=%d seconds=%f p50ms=%f p99ms=%f non2xx=%d\\n",
                summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(99) / 1000, non2xx))
        end
        """

    private static func tokenFrom(intake: String, root: String) throws -> String {
        let out = "/tmp/intake-bench-token-\(getpid())"
        let (status, _) = try Bench.run(["/bin/sh", "-c", "'\(intake)' token create --partner bench --name bench --root '\(root)' > '\(out)'"])
        guard status == 0 else { throw BenchError("cannot create a token") }
        defer { unlink(out) }
        return try readText(out).trimmingCharacters
    }

    private static func waitForPort(_ port: Int) throws {
        for _ in 0..<600 {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let rc = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            close(fd)
            if rc == 0 { return }
            usleep(100_000)
        }
        throw BenchError("the API did not start listening on port \(port)")
    }

    static func writeText(_ path: String, _ text: String) throws {
        let file = try FileDescriptor(opening: path, flags: O_WRONLY | O_CREAT | O_TRUNC, mode: 0o644)
        try Array(text.utf8).withUnsafeBytes { try file.writeAll($0) }
    }

    static func readText(_ path: String) throws -> String {
        let file = try FileDescriptor(opening: path)
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = try chunk.withUnsafeMutableBytes { try file.read(into: $0) }
            if n == 0 { break }
            bytes += chunk[..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension String {
    var trimmingCharacters: String {
        var s = Substring(self)
        while let c = s.last, c == "\n" || c == " " { s.removeLast() }
        return String(s)
    }
}
