import IntakeStore
import IntakeSystem
import IntakeTestSupport
import Testing

@testable import IntakeStorePostgres

/// The HTTP side's writer on PostgreSQL, driven statement by statement the way the
/// ``GroupCommitter`` drives it, and through the committer itself.
@Suite struct PostgresServeWriterTests {
    static func update(_ id: String, name: String) -> CustomerUpdate {
        CustomerUpdate(externalID: id, email: nil, name: name, phone: nil, createdAt: nil, attributesJSON: "{}")
    }

    /// Runs `write` in its own savepoint of the open batch, as the committer does; its error, if any.
    static func inSavepoint(_ writer: PostgresServeConnection, _ write: () throws -> Void) throws -> (any Error)? {
        try writer.savepoint()
        do {
            try write()
            try writer.releaseSavepoint()
            return nil
        } catch {
            try writer.rollbackToSavepoint()
            return error
        }
    }

    @Test func aBusyPartnerCostsTheBatchOneWaitAndTheOtherPartnersWritesCommit() async throws {
        // Lock waits and a score of statements: on a thread of its own, not the test pool's.
        try await onOwnThread { try Self.busyPartner() }
    }

    static func busyPartner() throws {
        let url = try PostgresServer.shared().newDatabase()
        let writer = try PostgresServeConnection(url: url, busySeconds: 0.3)
        // A file import of acme and one of beta hold their partners' locks.
        let importer = try PostgresConnection(url)
        try importer.execute("BEGIN")
        try importer.lockPartnerImports("acme")
        try importer.lockPartnerImports("beta")

        let acme = APIPrincipal(partner: "acme", tokenName: "t"), beta = APIPrincipal(partner: "beta", tokenName: "t")
        let other = APIPrincipal(partner: "other", tokenName: "t")
        func put(_ principal: APIPrincipal, _ id: String) -> () throws -> Void {
            { _ = try writer.writeCustomer(update(id, name: id), mode: .merge, principal: principal, request: "PUT /v4/consumers/\(id)", bytes: 10, now: "2026-12-01 00:00:00") }
        }
        try writer.beginBatch()
        // The first write waits out the batch's bound; the partner's next write in the batch,
        // and another held partner once the bound is spent, are busy without waiting again.
        #expect(try inSavepoint(writer, put(acme, "1")) is StoreBusy)
        #expect(writer.busyPartners == ["acme"])
        // The bound is spent: what follows tries locks without waiting.
        #expect(SystemTime().monotonicSeconds() >= writer.batchDeadline)
        #expect(try inSavepoint(writer, put(acme, "2")) is StoreBusy)
        #expect(try inSavepoint(writer, put(beta, "3")) is StoreBusy)
        #expect(writer.busyPartners == ["acme", "beta"])
        // A partner no import holds is written, in the same transaction.
        #expect(try inSavepoint(writer, put(other, "4")) == nil)
        // A refusal by the mode rolls back its own write only.
        let refused = try inSavepoint(writer) {
            _ = try writer.writeCustomer(update("4", name: "again"), mode: .createOnly, principal: other, request: "POST /v4/consumers", bytes: 10, now: "2026-12-01 00:00:01")
        }
        #expect(refused as? APIWrites.Refusal == .alreadyExists)
        try writer.commitBatch()
        try importer.execute("ROLLBACK")

        #expect(try PostgresServer.rows(url, "SELECT partner, external_id, name FROM customers ORDER BY partner") == ["other|4|4"])
        #expect(try PostgresServer.rows(url, "SELECT partner, source, rows_created FROM imports") == ["other|api|1"],
                "a busy or refused write leaves no import record")

        // The next batch starts afresh: acme's lock is free now.
        try writer.beginBatch()
        #expect(writer.busyPartners.isEmpty)
        #expect(try inSavepoint(writer, put(acme, "1")) == nil)
        try writer.commitBatch()
        #expect(try PostgresServer.rows(url, "SELECT count(*) FROM customers WHERE partner = 'acme'") == ["1"])
    }

    @Test func theWriterConnectsAgainAfterTheServerDroppedIt() async throws {
        let url = try PostgresServer.shared().newDatabase()
        let writer = try PostgresServeConnection(url: url, busySeconds: 1)
        let pid = try #require(try writer.connection.scalar("SELECT pg_backend_pid()"))
        let committer = GroupCommitter(connection: writer)
        defer { committer.shutdown() }
        let principal = APIPrincipal(partner: "acme", tokenName: "t")
        let first = try await committer.write { try $0.writeCustomer(Self.update("1", name: "a"), mode: .merge, principal: principal, request: "PUT", bytes: 1, now: "2026-12-01 00:00:00") }
        #expect(first.result == .created)
        // As a server restart or failover would: the session ends under the idle writer.
        #expect(try PostgresServer.rows(url, "SELECT pg_terminate_backend(\(pid))") == ["t"])
        let second = try await committer.write { try $0.writeCustomer(Self.update("1", name: "b"), mode: .merge, principal: principal, request: "PUT", bytes: 1, now: "2026-12-01 00:00:01") }
        #expect(second.result == .updated && second.customer.name == "b")
        #expect(try PostgresServer.rows(url, "SELECT action, before->>'name', before->'email' IS NULL, after IS NULL FROM customer_changes") == ["updated|a|t|t"])
    }

    /// A name that changes only in its Unicode form (é precomposed, then decomposed) is an
    /// update through the API too: the writer compares the bytes the database stores, not
    /// Swift's canonical equivalence; the same bytes again are unchanged.
    @Test func aChangeOfUnicodeFormIsAnUpdate() async throws {
        let url = try PostgresServer.shared().newDatabase()
        let committer = GroupCommitter(connection: try PostgresServeConnection(url: url, busySeconds: 1))
        defer { committer.shutdown() }
        let principal = APIPrincipal(partner: "acme", tokenName: "t")
        let composed = "Ren\u{E9}e", decomposed = "Rene\u{301}e"
        var results: [UpsertResult] = []
        for (i, name) in [composed, decomposed, decomposed].enumerated() {
            let outcome = try await committer.write {
                try $0.writeCustomer(Self.update("1", name: name), mode: .merge, principal: principal, request: "PUT", bytes: 1, now: "2026-12-01 00:00:0\(i)")
            }
            results.append(outcome.result)
        }
        #expect(results == [.created, .updated, .unchanged])
        #expect(try PostgresServer.rows(url, "SELECT convert_to(name, 'UTF8') = convert_to('\(decomposed)', 'UTF8') FROM customers") == ["t"])
    }
}
