import IntakeStore
import IntakeStorePostgres
import IntakeTestSupport
import Testing

/// The HTTP side's stores on their own, the same on both.
@Suite struct ServeStoreTests {
    /// An upload reads back as it was recorded, every field, and only for its own partner.
    @Test(arguments: StoreKind.allCases) func anUploadReadsBackAsRecorded(store: StoreKind) async throws {
        try await withTemporaryDirectory { dir in
            let stores = store == .postgres
                ? try PostgresServeStores.open(url: try PostgresServer.shared().newDatabase(), busySeconds: 1)
                : try ServeStores.sqlite(path: dir + "/intake.sqlite", busySeconds: 1)
            defer {
                stores.writes.shutdown()
                stores.reads.shutdown()
            }
            let browser = UploadRecord(id: "u1", partner: "acme", fileName: "list ä.csv", inboxName: "list ä-2.csv", dryRun: true,
                                       size: 1234, inode: 987_654_321, tokenName: nil, userEmail: "ann@example.com",
                                       receivedAt: "2026-12-01 06:00:00")
            var api = browser
            (api.id, api.dryRun, api.tokenName, api.userEmail) = ("u2", false, "crm", nil)
            try await stores.writes.write { try $0.addUpload(browser) }
            try await stores.writes.write { [api] in try $0.addUpload(api) }
            try await stores.writes.write { try $0.renameUpload(partner: "acme", id: "u2", inboxName: "renamed.csv") }
            api.inboxName = "renamed.csv"
            #expect(try await stores.reads.read { try $0.upload(partner: "acme", id: "u1") } == browser)
            #expect(try await stores.reads.read { try $0.upload(partner: "acme", id: "u2") } == api)
            #expect(try await stores.reads.read { try $0.upload(partner: "other", id: "u1") } == nil)
        }
    }
}
