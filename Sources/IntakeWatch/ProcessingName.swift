import IntakeSystem

/// The name a claimed file gets in the processing area, encoded and decoded in this one place.
///
/// `<claim token>.<kind>--<the partner's file name>`, where the token is `<epoch>-<pid>-<nonce>-<n>` and
/// the kind is `import` or `check`. The token and kind are ours and hold no `--`, so the first
/// `--` ends them whatever the partner named the file: an upload called `check--x.csv` stays an
/// import. The journal, not the name, says what a file is wherever it has an entry; the name is
/// read only to adopt a file claimed just before a crash, whose journal entry was never written
/// (such a file keeps at most 100 bytes of its name, all the path holds: its beginning and its
/// extension).
struct ProcessingName: Equatable, Sendable {
    /// Unique per claim: the wall-clock second, the process and a counter.
    var token: String
    /// Dropped in `inbox/check/`: a dry run.
    var check: Bool
    /// The name the partner gave the file.
    var fileName: String

    /// The partner's name in the path is cut to this many bytes: the path's length never depends
    /// on it (the whole name is in the journal).
    static let maxNameBytes = 100

    var encoded: String { "\(token).\(check ? "check" : "import")--\(Self.shortened(fileName))" }

    /// `name` as the path holds it: whole up to ``maxNameBytes``, else its beginning and its
    /// extension, so that a file adopted after a crash is still read as the kind of file it is.
    static func shortened(_ name: String) -> String {
        guard name.utf8.count > maxNameBytes else { return name }
        let suffix = name.lastIndex(of: ".").map { String(name[$0...]) } ?? ""
        guard !suffix.isEmpty, suffix.utf8.count <= 16 else { return FileSystem.prefix(of: name, maxBytes: maxNameBytes) }
        return FileSystem.prefix(of: name, maxBytes: maxNameBytes - suffix.utf8.count) + suffix
    }

    init(token: String, check: Bool, fileName: String) {
        self.token = token
        self.check = check
        self.fileName = fileName
    }

    /// Reads a name made by ``encoded``; nil for anything else.
    init?(decoding name: String) {
        guard let separator = name.firstRange(of: "--") else { return nil }
        let head = name[..<separator.lowerBound]
        let fileName = String(name[separator.upperBound...])
        guard let dot = head.lastIndex(of: "."), !fileName.isEmpty else { return nil }
        let token = head[..<dot]
        guard !token.isEmpty, token.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == "-") }) else { return nil }
        switch head[head.index(after: dot)...] {
        case "import": check = false
        case "check": check = true
        default: return nil
        }
        self.token = String(token)
        self.fileName = fileName
    }

    /// Reads a name made by Intake before this encoding, `<epoch>-<pid>-<n>[--check]--<name>`,
    /// for a file claimed by the previous version just before it stopped. Its marker was
    /// ambiguous (an upload named `check--x.csv` looks like a check): what follows the token
    /// is read as a check only when it starts with `check--`, the way that version wrote it.
    init?(decodingLegacy name: String) {
        guard let separator = name.firstRange(of: "--") else { return nil }
        let token = name[..<separator.lowerBound]
        guard token.split(separator: "-").count == 3, token.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == "-") }) else { return nil }
        var rest = name[separator.upperBound...]
        check = rest.hasPrefix("check--")
        if check { rest = rest.dropFirst("check--".count) }
        guard !rest.isEmpty else { return nil }
        self.token = String(token)
        self.fileName = String(rest)
    }
}
