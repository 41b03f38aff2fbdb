import CXLSXWriter

/// What happened to one data row.
public enum RowStatus: String, Sendable, CaseIterable {
    case created, updated, unchanged, skipped, rejected
}

/// The file-level facts shown on the Summary sheet.
public struct ImportSummary: Sendable {
    public var importID: Int64?
    public var sourceFile: String
    public var partner: String
    public var receivedAt: String
    public var finishedAt: String
    public var format: String?
    public var encoding: String?
    public var delimiter: String?
    public var sheet: String?
    public var counts: [RowStatus: Int] = [:]
    public var rowsRead = 0
    /// Why the whole file was rejected, when it was.
    public var fileError: String?
    /// An extra line for the partner (e.g. "check only: nothing was changed").
    public var note: String?
    /// A dry run: the verdict says what would have happened.
    public var checkOnly = false

    /// A summary with no counts, file details, error or note yet; they are filled in as the file
    /// is read.
    public init(sourceFile: String, partner: String, receivedAt: String, finishedAt: String) {
        self.sourceFile = sourceFile
        self.partner = partner
        self.receivedAt = receivedAt
        self.finishedAt = finishedAt
    }
}

/// A libxlsxwriter failure, with the library's own text.
public struct ReportError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
    init(_ what: String, _ code: lxw_error) {
        message = "\(what): \(String(cString: lxw_strerror(code)))"
    }
    init(_ message: String) { self.message = message }
}
