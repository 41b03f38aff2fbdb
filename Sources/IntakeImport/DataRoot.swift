import IntakeStore
import IntakeSystem

/// The folder tree Intake owns under its data root, one method per path so that no other file
/// builds one by hand:
///
///     <root>/settings.yaml                     the operator's settings (optional)
///     <root>/partners/<partner>/inbox/         partners write here (SFTP or a plain copy)
///     <root>/partners/<partner>/inbox/check/   files to check only (a dry run)
///     <root>/partners/<partner>/outbox/        result workbooks; partners only read
///     <root>/state/intake.sqlite               the database
///     <root>/state/processing/<partner>/       claimed files while they are imported
///     <root>/state/results/                    result workbooks before their import commits
///     <root>/state/archive/<partner>/<outcome> files once done: processed/ or failed/
///     <root>/state/archive/<partner>/markers/  done markers, once their data file is claimed
///     <root>/state/refused/<partner>/          links, pipes and folders taken out of an inbox
public struct DataRoot: Sendable, Equatable {
    /// The root folder, without a trailing slash.
    public let path: String

    /// The tree under `path`, trailing slashes dropped so that every path below can append `/name`.
    public init(_ path: String) {
        var p = path
        while p.count > 1 && p.hasSuffix("/") { p.removeLast() }
        self.path = p
    }

    /// The settings file's place; it need not exist.
    public var settingsFile: String { path + "/settings.yaml" }
    /// The settings file if the operator put one there, else nil (the built-in defaults).
    public var existingSettingsFile: String? { FileSystem.exists(settingsFile) ? settingsFile : nil }

    public var partners: String { path + "/partners" }
    /// A partner's folder. `partner` becomes a path component, so callers check it with
    /// ``PartnerName/isValid(_:)`` first.
    public func partnerFolder(_ partner: String) -> String { partners + "/" + partner }
    /// A partner's inbox, or its `check/` folder for dry runs.
    public func inbox(_ partner: String, check: Bool = false) -> String { partnerFolder(partner) + (check ? "/inbox/check" : "/inbox") }
    /// One name in a partner's inbox (or its `check/` folder).
    public func inboxFile(_ partner: String, _ name: String, check: Bool = false) -> String { inbox(partner, check: check) + "/" + name }
    /// Where a partner's result workbooks go; partners only read it.
    public func outbox(_ partner: String) -> String { partnerFolder(partner) + "/outbox" }

    public var state: String { path + "/state" }
    public var database: String { state + "/intake.sqlite" }
    public var processing: String { state + "/processing" }
    /// Where a partner's claimed files stay while they are imported.
    public func processing(_ partner: String) -> String { processing + "/" + partner }
    /// One claimed file of `partner`'s, by its processing name.
    public func processingFile(_ partner: String, _ name: String) -> String { processing(partner) + "/" + name }
    public var results: String { state + "/results" }
    /// Where the watcher's import of journal entry `entry` writes its result before the commit.
    public func scratchResult(journalEntry entry: Int64) -> String { results + "/\(entry).xlsx" }
    public var archive: String { state + "/archive" }
    /// Where a finished file goes: `outcome` is `processed` or `failed`.
    public func archive(_ partner: String, outcome: JournalEntry.Outcome) -> String { archive + "/" + partner + "/" + outcome.rawValue }
    /// One archived file.
    public func archiveFile(_ partner: String, outcome: JournalEntry.Outcome, _ name: String) -> String { archive(partner, outcome: outcome) + "/" + name }
    /// Where done markers go once their data file is claimed.
    public func markerArchive(_ partner: String) -> String { archive + "/" + partner + "/markers" }
    public var refused: String { state + "/refused" }
    /// Where links, pipes and folders taken out of a partner's inbox are set aside.
    public func refused(_ partner: String) -> String { refused + "/" + partner }
    /// One refused entry, moved out of the inbox.
    public func refusedFile(_ partner: String, _ name: String) -> String { refused(partner) + "/" + name }

    /// Creates the state folder and, for `partner`, its inbox and outbox.
    public func prepare(partner: String? = nil) throws(SystemError) {
        try FileSystem.createDirectories(state, mode: 0o750)
        if let partner {
            try FileSystem.createDirectories(inbox(partner))
            try FileSystem.createDirectories(outbox(partner))
        }
    }
}

/// Partner names are folder names and database keys, so they are kept to a safe alphabet.
public enum PartnerName {
    /// Letters, digits, `.`, `_` and `-`, not starting with `.`, at most 64 characters.
    public static func isValid(_ name: String) -> Bool {
        guard !name.isEmpty, name.count <= 64, !name.hasPrefix(".") else { return false }
        return name.unicodeScalars.allSatisfy { c in
            (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c == "." || c == "_" || c == "-"
        }
    }
}
