import Foundation
import IntakeTestSupport
import Testing

/// Several `intake watch` processes on one data root and one PostgreSQL database, as nodes of
/// one installation: each file imported exactly once, a partner's files in arrival order, a
/// killed node's file finished by another, a new node joining without importing anything again.
@Suite(.serialized) struct MultiNodeTests {
    /// `count` nodes on `root`, sharing the database at `url`; stopped when `body` returns.
    func withNodes(_ count: Int, root: String, url: String, _ body: ([Daemon]) throws -> Void) throws {
        let nodes = (0..<count).map { _ in Daemon(root: root, arguments: ["--db", url, "--rescan-interval", "1"]) }
        defer { for node in nodes where node.pid != 0 { node.stop() } }
        for node in nodes { try node.start() }
        try body(nodes)
    }

    func query(_ url: String, _ sql: String) throws -> [String] { try PostgresServer.rows(url, sql) }

    /// Runs `body` with a new database and data root, on a thread of its own (it waits on child
    /// processes for many seconds).
    func onSharedRoot(_ body: @escaping @Sendable (_ url: String, _ root: String) throws -> Void) async throws {
        try await onOwnThread {
            let url = try PostgresServer.shared().newDatabase()
            try withDaemonRoot { root in try body(url, root) }
        }
    }

    func count(_ url: String, _ sql: String) throws -> Int { Int(try query(url, sql).first ?? "") ?? -1 }

    @Test func aBurstOverThreeNodesIsImportedOnceAndInOrder() async throws {
        try await onSharedRoot { url, root in
            let partners = (0..<5).map { "p\($0)" }
            let setup = Daemon(root: root)
            for partner in partners { try setup.addPartner(partner) }
            try withNodes(3, root: root, url: url) { nodes in
                let listed = try runChild(TestPaths.intake, ["nodes", "--db", url])
                #expect(listed.stdout.split(separator: "\n").filter { $0.hasSuffix("\tlive\t-") }.count == 3, "\(listed.stdout)")

                // 60 files per partner, dropped in turn: p0/f000, p1/f000, … p4/f059.
                for i in 0..<60 {
                    for partner in partners {
                        try drop(customersCSV(prefix: "\(partner)-\(i)", count: 2), into: setup.inbox(partner), as: String(format: "f%03d.csv", i))
                    }
                }
                let done = waitUntil(timeout: 240) {
                    (try? count(url, "SELECT count(*) FROM journal WHERE step = 'archived'")) == 300
                }
                let archived = try count(url, "SELECT count(*) FROM journal WHERE step = 'archived'")
                try #require(done, "archived: \(archived)\n\(nodes.map(\.logText).joined().suffix(3000))")
                #expect(try count(url, "SELECT count(*) FROM imports WHERE status = 'completed'") == 300)
                #expect(try query(url, "SELECT partner, file_name FROM imports GROUP BY 1, 2 HAVING count(*) > 1") == [], "each file imported once")
                #expect(try count(url, "SELECT count(*) FROM customers") == 600)
                for partner in partners {
                    let order = try query(url, "SELECT file_name FROM imports WHERE partner = '\(partner)' ORDER BY id")
                    #expect(order == (0..<60).map { String(format: "f%03d.csv", $0) }, "\(partner)'s files in arrival order")
                    #expect(setup.results(partner).count == 60)
                }
                let byNode = try query(url, "SELECT node, count(*) FROM journal GROUP BY node ORDER BY node")
                print("files by node: \(byNode)")
            }
        }
    }

    @Test func aKilledNodesFileIsFinishedByAnotherExactlyOnce() async throws {
        try await onSharedRoot { url, root in
            let setup = Daemon(root: root)
            try setup.addPartner("big")
            try withNodes(3, root: root, url: url) { nodes in
                let rows = 150_000
                try drop(customersCSV(prefix: "B", count: rows), into: setup.inbox("big"), as: "big.csv")
                var importing: Daemon?
                let started = waitUntil(timeout: 120) {
                    importing = nodes.first { $0.logText.contains("import started") }
                    return importing != nil
                }
                let victim = try #require(importing, "no node started the import")
                try #require(started)
                #expect(!victim.logText.contains("file done"), "killed mid-import")
                victim.stop(SIGKILL)

                let finished = waitUntil(timeout: 240) {
                    (try? count(url, "SELECT count(*) FROM journal WHERE step = 'archived'")) == 1
                }
                try #require(finished, "\(nodes.map(\.logText).joined().suffix(4000))")
                let survivors = nodes.filter { $0 !== victim }
                #expect(survivors.contains { $0.logText.contains("file done") && $0.logText.contains("file=big.csv") })
                #expect(try query(url, "SELECT status, rows_created FROM imports") == ["completed|\(rows)"], "one import, every row")
                #expect(try count(url, "SELECT count(*) FROM customers") == rows)
                #expect(try query(url, "SELECT attempts FROM journal") == ["2"], "the killed attempt counts")
                #expect(setup.results("big").count == 1)
                let listed = try runChild(TestPaths.intake, ["nodes", "--db", url])
                #expect(listed.stdout.contains("\tlive\t"), "\(listed.stdout)")
            }
        }
    }

    @Test func aNewNodeJoinsWithoutImportingAgain() async throws {
        try await onSharedRoot { url, root in
            let setup = Daemon(root: root)
            try setup.addPartner("acme")
            try withNodes(2, root: root, url: url) { _ in
                for i in 0..<5 { try drop(customersCSV(prefix: "A\(i)", count: 3), into: setup.inbox("acme"), as: "a\(i).csv") }
                try #require(waitUntil(timeout: 120) { (try? count(url, "SELECT count(*) FROM journal WHERE step = 'archived'")) == 5 })
            }
            // Every node stopped; a new one (a new process, its own node id, no memory of the
            // others) starts on the same root and database.
            let newcomer = Daemon(root: root, arguments: ["--db", url, "--rescan-interval", "1"])
            try newcomer.start()
            defer { newcomer.stop() }
            try #require(waitUntil(timeout: 60) { newcomer.logText.components(separatedBy: "rescanned").count > 2 }, "\(newcomer.logText)")
            #expect(!newcomer.logText.contains("import started"))
            #expect(try count(url, "SELECT count(*) FROM imports") == 5)
            #expect(try count(url, "SELECT count(*) FROM customers") == 15)
            #expect(setup.results("acme").count == 5)
        }
    }
}
