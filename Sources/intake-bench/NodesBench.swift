import IntakeSystem
import IntakeTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Files per minute for many small files (300 files of 100 rows over 10 partners, dropped at
/// once) with 1 and with 3 `intake watch` nodes on this machine, sharing one data root and one
/// PostgreSQL database. On 2 cores the point is that more nodes stay correct under contention;
/// whether they are faster depends on cores the nodes do not share.
enum NodesBench {
    static let files = 300, rowsPerFile = 100, partners = 10

    static func run(intake: String, scratch: String, server: PostgresServer) throws -> [(nodes: Int, filesPerMinute: Double)] {
        var figures: [(nodes: Int, filesPerMinute: Double)] = []
        for nodes in [1, 3] {
            let database = "nodes\(nodes)"
            for sql in ["DROP DATABASE IF EXISTS \(database)", "CREATE DATABASE \(database)"] {
                let done = try server.psql("postgres", sql)
                guard done.status == 0 else { throw BenchError("psql: \(done.stderr)") }
            }
            let root = "\(scratch)/nodes-\(nodes)"
            _ = try? Bench.run(["/bin/rm", "-rf", root])
            for p in 0..<partners { try FileSystem.createDirectories("\(root)/partners/p\(p)/inbox") }
            let pids = try (0..<nodes).map { n in
                try Bench.spawn([intake, "watch", "--root", root, "--db", server.url(database), "--settle", "0.2", "--rescan-interval", "1"],
                                log: "\(root)-node\(n).log")
            }
            defer { for pid in pids { kill(pid, SIGTERM); var status: Int32 = 0; waitpid(pid, &status, 0) } }
            // Every node registered before the first file lands.
            try waitFor(seconds: 60) { (try? count(server, database, "SELECT count(*) FROM nodes")) == nodes } // the table appears once a node migrated

            // The files are written aside, then renamed into the inboxes at once.
            let staging = "\(root)/staging"
            try FileSystem.createDirectories(staging)
            var names: [(String, String)] = []
            for f in 0..<files {
                var text = "external_id,email,name,phone,created_at\n"
                for r in 0..<rowsPerFile { text += "F\(f)-\(r),f\(f)r\(r)@example.com,Name \(r),,2018-01-01 00:11:22\n" }
                let name = "f\(f).csv"
                try writeFile("\(staging)/\(name)", text)
                names.append((name, "\(root)/partners/p\(f % partners)/inbox/\(name)"))
            }
            let clock = SystemTime()
            let start = clock.monotonicSeconds()
            for (name, target) in names { try FileSystem.rename("\(staging)/\(name)", to: target) }
            try waitFor(seconds: 600) { try count(server, database, "SELECT count(*) FROM journal WHERE step = 'archived'") == files }
            let seconds = clock.monotonicSeconds() - start
            let imported = try count(server, database, "SELECT count(*) FROM imports WHERE status = 'completed'")
            guard imported == files else { throw BenchError("\(nodes) nodes: \(imported) of \(files) files imported") }
            figures.append((nodes, Double(files) / seconds * 60))
            Bench.log("  \(nodes) node(s): \(files) files in \(Bench.format(seconds)) s")
        }
        return figures
    }

    static func count(_ server: PostgresServer, _ database: String, _ sql: String) throws -> Int {
        Int(try PostgresServer.rows(server.url(database), sql).first ?? "") ?? -1
    }

    /// Polls `condition` every 100 ms (a benchmark's wait, not a test's) until it holds.
    static func waitFor(seconds: Double, _ condition: () throws -> Bool) throws {
        let clock = SystemTime()
        let deadline = clock.monotonicSeconds() + seconds
        while try !condition() {
            guard clock.monotonicSeconds() < deadline else { throw BenchError("timed out after \(Int(seconds)) s") }
            usleep(100_000)
        }
    }
}
