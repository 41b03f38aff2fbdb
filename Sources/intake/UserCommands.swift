import ArgumentParser
import Foundation
import IntakeImport
import IntakeServe
import IntakeStore
import IntakeSystem

#if canImport(Glibc)
import Glibc
#endif

/// `intake user`: the people who sign in to the portal.
struct User: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Add, list and remove portal users (a partner's staff, or an admin for the operator view).",
        subcommands: [Add.self, List.self, Remove.self]
    )

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a portal user, or set a user's password; the password is read from standard input (asked for on a terminal).",
            discussion: "A new password signs the user out everywhere. Only a bcrypt hash is stored."
        )

        @Option(help: "The partner whose files and customers the user sees.")
        var partner: String?

        @Flag(help: "An operator: sees every partner's imports on the operator view (no partner).")
        var admin = false

        @Argument(help: "The user's email, which is the sign-in name.")
        var email: String

        @Option(help: "Read the password from this file's first line instead of standard input.")
        var passwordFile: String?

        @OptionGroup var storage: StorageOptions

        func validate() throws {
            guard (partner == nil) == admin else { throw ValidationError("give either --partner P or --admin") }
            if let partner, !PartnerName.isValid(partner) { throw ValidationError("\(partner) is not a valid partner name") }
            guard email.contains("@"), email.count <= 254, !email.contains(where: { $0.isWhitespace }) else {
                throw ValidationError("\(email) is not an email address")
            }
        }

        func run() throws {
            let password: String
            if let passwordFile {
                let text = try String(contentsOfFile: passwordFile, encoding: .utf8)
                password = String(text.split(separator: "\n", omittingEmptySubsequences: false).first ?? "")
            } else if isatty(STDIN_FILENO) == 1, let typed = getpass("Password for \(email): ") {
                password = String(cString: typed)
            } else {
                password = readLine(strippingNewline: true) ?? ""
            }
            guard PortalPassword.isAcceptable(password) else { throw ValidationError(PortalPassword.lengthRule) }
            let isNew = try storage.openAccounts()
                .putUser(email: email, partner: partner, isAdmin: admin, passwordHash: PortalPassword.hash(password), now: SystemTime().utcNow())
            print(isNew ? "added \(email)\(partner.map { " for partner \($0)" } ?? " (admin)")" : "updated \(email); its sessions ended")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List portal users: email, partner or admin.")

        @OptionGroup var storage: StorageOptions

        func run() throws {
            for user in try storage.openAccounts().users() {
                print("\(user.email)\t\(user.partner ?? "admin")")
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a portal user and end its sessions.")

        @Argument var email: String
        @OptionGroup var storage: StorageOptions

        func run() throws {
            do { try storage.openAccounts().removeUser(email: email) } catch let refusal as PortalAccounts.Refusal {
                throw ValidationError(refusal.message)
            }
            print("removed \(email)")
        }
    }
}
