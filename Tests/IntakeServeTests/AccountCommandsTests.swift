import Foundation
import IntakeTestSupport
import Testing

/// `intake token` and `intake user` on each store: the refusals, the listing, and what a
/// revocation or a removal leaves.
@Suite struct AccountCommandsTests {
    @Test(arguments: StoreKind.allCases) func tokensAndUsersAreManagedTheSameOnEitherStore(store: StoreKind) async throws {
        // A dozen commands run one after another: on a thread of their own, not the test pool's.
        try await onOwnThread { try Self.manage(store) }
    }

    static func manage(_ store: StoreKind) throws {
        try withTemporaryDirectory { dir in
            let root = dir + "/root"
            let server = try APIServer(root: root, store: store)
            func intake(_ arguments: [String]) throws -> (status: Int32, out: String, err: String) {
                let run = try runChild(TestPaths.intake, arguments + ["--root", root] + server.storeArguments)
                return (run.status, run.stdout, run.stderr)
            }

            let token = try server.token("acme", name: "crm")
            #expect(token.hasPrefix("itk_"))
            let twice = try intake(["token", "create", "--partner", "acme", "--name", "crm"])
            #expect(twice.status != 0 && twice.err.contains("already has a token named \"crm\""), "\(twice.err)")
            _ = try server.token("other", name: "crm")
            #expect(try server.intake(["token", "list", "--partner", "acme"]).contains("acme\tcrm\tcreated"))
            try server.intake(["token", "revoke", "--partner", "acme", "--name", "crm"])
            let listed = try server.intake(["token", "list"]).split(separator: "\n")
            #expect(listed.count == 2 && listed[0].hasPrefix("acme\tcrm") && listed[0].contains("revoked") && listed[1].hasSuffix("live"), "\(listed)")
            let again = try intake(["token", "revoke", "--partner", "acme", "--name", "crm"])
            #expect(again.status != 0 && again.err.contains("no live token named \"crm\""), "\(again.err)")
            // The name is free again once its token is revoked; the database keeps digests only.
            _ = try server.token("acme", name: "crm")
            let digests = try server.rows("SELECT sha256 FROM api_tokens")
            #expect(digests.count == 3 && digests.allSatisfy { $0.count == 64 } && !digests.contains(String(token.dropFirst(4))))

            let password = root + "-password"
            try writeFile(password, "correct horse battery staple\n")
            let added = try intake(["user", "add", "--partner", "acme", "Anna@Acme.example", "--password-file", password])
            #expect(added.out.contains("added Anna@Acme.example"), "\(added.err)")
            // The same address in other case is the same user: its password changes.
            #expect(try intake(["user", "add", "--partner", "acme", "anna@acme.EXAMPLE", "--password-file", password]).out.contains("updated"))
            #expect(try intake(["user", "add", "--admin", "ops@intake.example", "--password-file", password]).status == 0)
            #expect(try server.intake(["user", "list"]) == "Anna@Acme.example\tacme\nops@intake.example\tadmin\n")
            try server.intake(["user", "remove", "ANNA@acme.example"])
            let gone = try intake(["user", "remove", "anna@acme.example"])
            #expect(gone.status != 0 && gone.err.contains("there is no portal user"), "\(gone.err)")
            // Listed by email without case: Zed after ops (bytes would put "Z" first).
            #expect(try intake(["user", "add", "--partner", "acme", "Zed@acme.example", "--password-file", password]).status == 0)
            #expect(try server.intake(["user", "list"]) == "ops@intake.example\tadmin\nZed@acme.example\tacme\n")
        }
    }
}
