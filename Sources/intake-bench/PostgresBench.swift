import IntakeTestSupport

/// The PostgreSQL figures of `make bench`: Intake's imports against a throwaway, durable cluster
/// (Debian's server on a free loopback port, as the tests start it), next to their floor, psql's
/// `\copy` of the same CSV into a plain table on the same server.
enum PostgresBench {
    static let floorLabel = "floor: psql \\copy csv"
    /// The store's own floor: the rows as a fresh import stores them, copied straight into a table
    /// with the customers table's columns, types and primary key, and nothing else (no staging,
    /// no plan, no change log, no readback, no workbook).
    static let storedFloorLabel = "floor: psql \\copy into customers"

    typealias Measure = (_ label: String, _ prepare: () throws -> Void, _ command: [String]) throws -> Void

    /// The benchmark's cluster, started on first use: durable, with the memory and WAL room a
    /// server of a few GiB would give PostgreSQL (Debian's defaults are for a small machine).
    static let started = Result { try PostgresServer(durable: true, settings: ["shared_buffers=1GB", "max_wal_size=8GB", "wal_buffers=64MB"]) }

    static func measure(intake: String, dir: String, csv: String, nightly: String, _ measure: Measure) throws {
        let server = try started.get()
        Bench.log("  PostgreSQL \(server.url("bench")) (folder \(server.base))")
        let root = "\(dir)/pg-root"
        func recreate(_ name: String, _ setup: String? = nil) throws {
            for sql in ["DROP DATABASE IF EXISTS \(name)", "CREATE DATABASE \(name)"] {
                let done = try server.psql("postgres", sql)
                guard done.status == 0 else { throw BenchError("psql: \(done.stderr)") }
            }
            if let setup {
                let done = try server.psql(name, setup)
                guard done.status == 0 else { throw BenchError("psql: \(done.stderr)") }
            }
        }
        let importCommand = { (file: String) in [intake, "import", file, "--db", server.url("bench"), "--root", root, "--partner", "bench"] }
        let imported = {
            try recreate("bench")
            _ = try Bench.timed(importCommand(csv))
        }
        try measure("postgres: import csv (fresh)", { try recreate("bench") }, importCommand(csv))
        try measure("postgres: re-import csv (unchanged)", imported, importCommand(csv))
        try measure("postgres: nightly re-send (1% changed, 0.5% new)", imported, importCommand(nightly))
        let columns = Generate.header.map { "\($0) text" }.joined(separator: ", ")
        try measure(floorLabel, { try recreate("floor", "CREATE TABLE customers (\(columns))") },
                    ["/usr/bin/psql", "-X", "-q", "-d", server.url("floor"), "-c", "\\copy customers FROM '\(csv)' CSV HEADER"])
        let stored = "\(dir)/pg-customers.csv"
        try imported()
        let exported = try server.psql("bench", "\\copy customers TO '\(stored)' CSV")
        guard exported.status == 0 else { throw BenchError("psql: \(exported.stderr)") }
        try measure(storedFloorLabel, {
            let done = try server.psql("bench", "DROP TABLE IF EXISTS floor_customers; CREATE TABLE floor_customers (LIKE customers INCLUDING ALL)")
            guard done.status == 0 else { throw BenchError("psql: \(done.stderr)") }
        }, ["/usr/bin/psql", "-X", "-q", "-d", server.url("bench"), "-c", "\\copy floor_customers FROM '\(stored)' CSV"])
    }
}
