import IntakeSystem

/// Why a file cannot be read at all. Row-level problems are not errors: they travel on
/// ``SourceRow/problem`` so that one bad row never stops the good ones.
///
/// Every error names the file and, where it applies, the line (CSV) or row (XLSX) it was found at.
public struct ReadError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong, coarse enough to branch on.
    public enum Kind: String, Sendable, Equatable {
        case io
        case empty
        case unsupportedFormat
        case unterminatedQuote
        case recordTooLarge
        case notAWorkbook
        case passwordProtected
        case corruptArchive
        case archiveBomb
        case unsafeXML
        case malformedXML
        case limitExceeded
    }

    public var kind: Kind
    /// The file's name as the partner sent it (or the path it was opened from).
    public var file: String
    /// The CSV line or the XLSX row the problem was found at, 1-based.
    public var line: Int?
    /// Human-readable explanation, without the file and line (``description`` adds them).
    public var message: String

    /// An error of `kind` about `file`, found at `line` when one applies; `message` leaves out the
    /// file and line, which ``description`` adds.
    public init(_ kind: Kind, file: String, line: Int? = nil, _ message: String) {
        self.kind = kind
        self.file = file
        self.line = line
        self.message = message
    }

    init(io error: SystemError, file: String) {
        self.init(.io, file: file, error.description)
    }

    public var description: String {
        if let line { return "\(file): line \(line): \(message)" }
        return "\(file): \(message)"
    }
}
