import IntakeSystem

/// The folder tree Intake owns under its data root:
///
///     <root>/partners/<partner>/inbox/    partners write here (SFTP or a plain copy)
///     <root>/partners/<partner>/outbox/   result workbooks; partners only read
///     <root>/state/                       the daemon's own: database, processing area, archive
public struct DataRoot: Sendable {
    public let path: String

    public init(_ path: String) {
        var p = path
        while p.count > 1 && p.hasSuffix("/") { p.removeLast() }
        self.path = p
    }

    public var partners: String { path + "/partners" }
    public var state: String { path + "/state" }
    public var database: String { state + "/intake.sqlite" }

    public func partnerFolder(_ partner: String) -> String { partners + "/" + partner }
    public func inbox(_ partner: String) -> String { partnerFolder(partner) + "/inbox" }
    public func outbox(_ partner: String) -> String { partnerFolder(partner) + "/outbox" }

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
