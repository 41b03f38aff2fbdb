import ArgumentParser
import IntakeImport
import IntakeServe
import IntakeStore
import IntakeSystem

/// `intake token`: the partners' API tokens.
struct Token: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create, list and revoke the API tokens partners' systems authenticate with.",
        subcommands: [Create.self, List.self, Revoke.self]
    )

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a token for a partner and print it once; only its SHA-256 is stored."
        )

        @OptionGroup var partner: PartnerOption

        @Option(help: "A name for the token, shown in history next to each change it makes.")
        var name: String = "default"

        @OptionGroup var storage: StorageOptions

        func run() throws {
            guard !name.isEmpty, name.count <= 64, !name.contains(where: { $0.isNewline }) else {
                throw ValidationError("a token name is 1 to 64 characters on one line")
            }
            let token = APIToken.generate()
            do {
                _ = try storage.openAccounts()
                    .addToken(partner: partner.partner, name: name, sha256: APIToken.digest(token), now: SystemTime().utcNow())
            } catch let refusal as APITokens.Refusal {
                throw ValidationError(refusal.message)
            }
            print(token)
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tokens (never the tokens themselves): partner, name, created, revoked.")

        @Option(help: "Only this partner's tokens.")
        var partner: String?

        @OptionGroup var storage: StorageOptions

        func run() throws {
            for token in try storage.openAccounts().tokens(partner: partner) {
                print("\(token.partner)\t\(token.name)\tcreated \(token.createdAt)\t\(token.revokedAt.map { "revoked \($0)" } ?? "live")")
            }
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a partner's token by name; requests with it get 401 at once.")

        @OptionGroup var partner: PartnerOption

        @Option(help: "The token's name.")
        var name: String

        @OptionGroup var storage: StorageOptions

        func run() throws {
            do {
                try storage.openAccounts().revokeToken(partner: partner.partner, name: name, now: SystemTime().utcNow())
            } catch let refusal as APITokens.Refusal {
                throw ValidationError(refusal.message)
            }
            print("revoked \(name) of \(partner.partner)")
        }
    }
}
