#if canImport(Glibc)
import Glibc
#endif

import IntakeSystem

/// What a reader knows about the file it reads: shown by `intake preview` and stored with each import.
public struct SourceInfo: Sendable, Equatable {
    /// The format the file was read as.
    public enum Format: String, Sendable, Equatable { case csv, xlsx }

    public var format: Format
    /// The text encoding used to decode a CSV (`utf-8`, `windows-1251`, ...); nil for XLSX.
    public var encoding: String?
    /// The field delimiter of a CSV; nil for XLSX.
    public var delimiter: String?
    /// The worksheet read from an XLSX; nil for CSV.
    public var sheet: String?
    /// The file is a result workbook Intake wrote, sent back: its Rejected sheet was read and the
    /// `error` column Intake added is not a column of the data (see ``ResultWorkbookMark``).
    public var isResultWorkbook = false

    /// What a reader found; the fields that do not apply to `format` stay nil.
    public init(format: Format, encoding: String? = nil, delimiter: String? = nil, sheet: String? = nil) {
        self.format = format
        self.encoding = encoding
        self.delimiter = delimiter
        self.sheet = sheet
    }
}

/// One record of a file as text cells.
public struct SourceRow: Sendable, Equatable {
    /// Where the record starts: the CSV line, or the XLSX row number, 1-based. The header is a row too.
    public var number: Int
    /// The cells, as the text Intake uses.
    public var cells: [String]
    /// Why this row cannot be trusted (wrong field count, NUL byte, invalid text), if it cannot.
    public var problem: String?
    /// A CSV record that the end of the file cut off before its line break: with fewer fields
    /// than the header, the sign of an upload that was cut off.
    public var endsTheFileWithoutLineBreak = false
    /// Set by ``Table`` on such a record that is short of the header: the upload was cut off.
    public var isCutOff = false

    /// What the Summary and the log say of a file whose end cut its last row short.
    public static let cutOffNote = "the last line is incomplete: was the upload cut off?"
    /// The problem set on that row (see ``endsTheFileWithoutLineBreak``).
    public static let cutOff = "ends the file before its last field: " + cutOffNote

    /// A record starting at line or row `number`; `problem` is nil for one that can be trusted.
    public init(number: Int, cells: [String], problem: String? = nil) {
        self.number = number
        self.cells = cells
        self.problem = problem
    }

    /// True when every cell is empty and nothing is wrong with the row: such rows are skipped, as
    /// a spreadsheet shows them as blank. A row whose cells were dropped for a problem is not.
    public var isBlank: Bool { problem == nil && cells.allSatisfy(\.isEmpty) }
}

/// A source of records, header first. Implemented by ``CSVReader`` and ``XLSXReader``.
public protocol RecordReader: AnyObject {
    /// What the reader found out about the file.
    var info: SourceInfo { get }
    /// Returns the next record, or nil at the end of the file.
    func nextRecord() throws(ReadError) -> SourceRow?
}

/// When reading must stop: `seconds` after it started, on `clock`'s monotonic time.
public struct ReadDeadline: Sendable {
    public var clock: any TimeSource
    /// The monotonic time past which reading fails.
    public var at: Double
    /// The budget, for the message.
    public var seconds: Double

    /// A deadline `seconds` from now on `clock`.
    public init(seconds: Double, clock: any TimeSource) {
        self.clock = clock
        self.seconds = seconds
        at = clock.monotonicSeconds() + seconds
    }

    /// - Throws: ``ReadError`` `.limitExceeded`, naming `file` and the limit, once it has passed.
    public func check(file: String) throws(ReadError) {
        guard clock.monotonicSeconds() > at else { return }
        throw ReadError(.limitExceeded, file: file, "reading the file took longer than \(Int(seconds)) seconds, the limit max_seconds; nothing was imported")
    }
}

/// Limits that keep memory and time bounded whatever a file claims about itself.
public struct ReadLimits: Sendable {
    /// A single CSV record larger than this rejects the file.
    public var maxRecordBytes = 1 << 20
    /// Bytes inflated from one XLSX part before it is called a zip bomb.
    public var maxPartBytes: Int64 = 2 << 30
    /// Bytes inflated from the whole XLSX package.
    public var maxTotalBytes: Int64 = 4 << 30
    /// An inflated/compressed ratio above this, once past ``ratioCheckAfterBytes``, is a bomb.
    /// Real sheet XML deflates 5-50 times; deflate cannot exceed about 1032.
    public var maxCompressionRatio: Int64 = 400
    /// Bytes a part may inflate to before its ratio is checked, so that a small part that compresses
    /// unusually well is not taken for a bomb.
    public var ratioCheckAfterBytes: Int64 = 16 << 20
    /// Excel's own limit for the text in one cell.
    public var maxCellCharacters = 32_767
    /// XML nesting deeper than any real SpreadsheetML part needs.
    public var maxXMLDepth = 64
    /// Bytes of shared strings a workbook may hold in all.
    public var maxSharedStringBytes: Int64 = 1 << 30
    /// Bytes of shared strings kept in memory; a larger table moves to scratch files.
    public var sharedStringsMemoryBytes = 48 << 20
    /// Bytes of text one row's cells may add up to; a larger row is rejected (its cells dropped).
    public var maxRowBytes = 1 << 20
    /// Bytes of text a whole file's cells may expand to (shared strings count each time they are
    /// used); past it the file is rejected before anything is committed. Settings:
    /// `limits.max_text_bytes`.
    public var maxTextBytes: Int64 = 1 << 30

    /// The default limits given with each property.
    public init() {}
}

/// How to read a file: overrides for detection, and limits.
public struct ReadOptions: Sendable {
    /// A CSV encoding to use instead of detecting one.
    public var encoding: TextEncoding?
    /// A CSV delimiter to use instead of detecting one.
    public var delimiter: UInt8?
    /// The XLSX worksheet to read, by name (any case, hidden ones too), instead of the first visible one.
    public var sheet: String?
    public var limits = ReadLimits()
    /// The name to use for the file in messages (the partner's file name), when not the path.
    public var displayName: String?
    /// Where a reader puts scratch files (a shared-strings table too large for memory): `$TMPDIR`,
    /// else `/tmp`. They have no name and vanish with the reader.
    /// When reading must have finished (the partner's `limits.max_seconds`); nil for no limit.
    public var deadline: ReadDeadline?
    public var scratchDirectory: String = getenv("TMPDIR").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"

    /// Options that detect the encoding and delimiter, read the first visible sheet, apply the default
    /// limits, and name the file after its path unless `displayName` is given.
    public init(encoding: TextEncoding? = nil, delimiter: UInt8? = nil, displayName: String? = nil) {
        self.encoding = encoding
        self.delimiter = delimiter
        self.displayName = displayName
    }
}
