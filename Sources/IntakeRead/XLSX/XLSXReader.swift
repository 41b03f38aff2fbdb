import IntakeSystem

/// Streams the rows of an XLSX workbook's first visible worksheet as text cells (the Rejected
/// sheet of a result workbook sent back; see ``ResultWorkbookMark``).
///
/// The sheet is found the way OPC says: `_rels/.rels` → the office document (the workbook,
/// wherever it lives) → its relationships → the first sheet in workbook order that is a
/// worksheet (not a chartsheet) and not hidden. Part names are matched ignoring case and
/// separators. The worksheet is inflated with libzip and parsed with expat 64 KiB at a time,
/// so memory holds the shared strings and one chunk of rows, never the sheet.
public final class XLSXReader: RecordReader {
    public private(set) var info: SourceInfo
    private let archive: ZipArchive
    private let sheetBytes: EntryPrefetch
    private let sheetParser: SheetParser
    private let xml: XMLStream
    /// Rows parsed from the last chunk, in reverse order: `popLast` moves each out uncopied.
    private var pending: [SourceRow] = []
    private var finished = false

    /// Opens the workbook and reads everything but the worksheet's rows.
    /// - Throws: ``ReadError`` for a corrupt, encrypted, hostile or incomplete package.
    public init(path: String, options: ReadOptions = ReadOptions()) throws(ReadError) {
        let name = options.displayName ?? FileSystem.baseName(of: path)
        let limits = options.limits
        let archive = try ZipArchive(path: path, name: name, limits: limits)
        self.archive = archive

        func parse<H: XMLHandler>(_ part: String, with handler: H) throws(ReadError) -> H {
            let bytes = try archive.readAll(part)
            try XMLStream(handler: handler, file: name, part: part, limits: limits).parse(bytes)
            return handler
        }

        guard archive.contains("_rels/.rels") else {
            let listed = archive.storedNames.prefix(5).joined(separator: ", ")
            throw ReadError(.notAWorkbook, file: name, "is a zip archive but not an XLSX workbook: it has no _rels/.rels (it holds: \(listed))")
        }
        if archive.contains("EncryptionInfo") || archive.contains("EncryptedPackage") {
            throw ReadError(.passwordProtected, file: name, "password-protected workbooks are not supported; save it without a password and send it again")
        }
        let packageRels = try parse("_rels/.rels", with: RelationshipsParser()).relationships
        guard let document = packageRels.first(where: { $0.kind == "officeDocument" && !$0.external }) else {
            throw ReadError(.notAWorkbook, file: name, "is a zip archive but not an XLSX workbook: _rels/.rels names no office document")
        }
        let workbookPart = PartName.resolve(document.target, from: "")
        guard archive.contains(workbookPart) else {
            throw ReadError(.notAWorkbook, file: name, "is not a valid XLSX workbook: the workbook part \"\(workbookPart)\" is missing")
        }
        let workbook = try parse(workbookPart, with: WorkbookParser())
        let workbookRelsPart = PartName.relationshipsPart(of: workbookPart)
        let workbookRels = archive.contains(workbookRelsPart)
            ? try parse(workbookRelsPart, with: RelationshipsParser()).relationships : []
        let byID = Dictionary(workbookRels.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })

        let worksheets = workbook.sheets.filter { byID[$0.relationshipID]?.kind == "worksheet" }
        func has(_ sheet: String) -> Bool { worksheets.contains { $0.name.lowercased() == sheet.lowercased() } }
        var customProperties: Set<String> = []
        if let rel = packageRels.first(where: { $0.kind == "custom-properties" && !$0.external }) {
            let part = PartName.resolve(rel.target, from: "")
            if archive.contains(part) { customProperties = try parse(part, with: CustomPropertiesParser()).names }
        }
        let isResultWorkbook = customProperties.contains(ResultWorkbookMark.propertyName)
        let looksLikeResult = worksheets.prefix(3).map(\.name) == ResultWorkbookMark.sheets
        // A result workbook sent back is read from its Rejected sheet, also when the partner's
        // settings name a sheet of their own files; a sheet asked for that it has (Summary, Rows)
        // is read as asked.
        let wanted = options.sheet.flatMap { has($0) || !isResultWorkbook ? $0 : nil } ?? (isResultWorkbook ? ResultWorkbookMark.rejectedSheet : nil)
        if let wanted, !has(wanted) {
            let names = worksheets.map { "\"\($0.name)\"" }.joined(separator: ", ")
            throw ReadError(.notAWorkbook, file: name, "has no worksheet named \"\(wanted)\" (it has: \(names))")
        }
        if isResultWorkbook && wanted?.lowercased() == ResultWorkbookMark.rejectedSheet.lowercased() && has(ResultWorkbookMark.rejectedSheet + " (2)") {
            throw ReadError(.limitExceeded, file: name, "is an Intake result workbook whose rejected rows continue on \"\(ResultWorkbookMark.rejectedSheet) (2)\": send the rows of each Rejected sheet as a file of its own")
        }
        if looksLikeResult && !isResultWorkbook && options.sheet == nil {
            throw ReadError(.notAWorkbook, file: name, "looks like an Intake result workbook (sheets Summary, Rows, Rejected) but lost the mark Intake writes into it, so it cannot be told from your own data: save it with Excel or LibreOffice, or copy the Rejected sheet's rows without the error column into a new file")
        }
        let chosen = wanted.flatMap { wanted in worksheets.first { $0.name.lowercased() == wanted.lowercased() } }
        guard let sheet = chosen ?? worksheets.first(where: { !$0.hidden }) else {
            let why = worksheets.isEmpty ? "it has no worksheet" : "all its worksheets are hidden"
            throw ReadError(.notAWorkbook, file: name, "has no sheet to read: \(why)")
        }
        let sheetPart = PartName.resolve(byID[sheet.relationshipID]!.target, from: workbookPart)

        var sharedStrings = SharedStringTable(limits: limits, scratchDirectory: options.scratchDirectory)
        if let rel = workbookRels.first(where: { $0.kind == "sharedStrings" }) {
            let part = PartName.resolve(rel.target, from: workbookPart)
            if archive.contains(part) {
                let parser = SharedStringsParser(file: name, limits: limits, scratchDirectory: options.scratchDirectory)
                sharedStrings = try Self.stream(part, archive: archive, handler: parser, name: name, limits: limits, deadline: options.deadline).strings
                do { try sharedStrings.finish() } catch { throw ReadError(io: error, file: name) }
            }
        }
        var styles: [NumberDisplay] = []
        if let rel = workbookRels.first(where: { $0.kind == "styles" }) {
            let part = PartName.resolve(rel.target, from: workbookPart)
            if archive.contains(part) { styles = try parse(part, with: StylesParser()).styleKinds }
        }

        info = SourceInfo(format: .xlsx, sheet: sheet.name)
        info.isResultWorkbook = isResultWorkbook && sheet.name.lowercased() == ResultWorkbookMark.rejectedSheet.lowercased()
        sheetBytes = EntryPrefetch(try archive.open(sheetPart))
        sheetParser = SheetParser(file: name, sharedStrings: sharedStrings, styles: styles, date1904: workbook.date1904, limits: limits)
        xml = XMLStream(handler: sheetParser, file: name, part: sheetPart, limits: limits)
    }

    /// Parses a part that may be large (the shared strings) chunk by chunk.
    /// A large table is read against the file's deadline too (`limits.max_seconds`), checked
    /// per chunk, since rows only start once it is read.
    private static func stream<H: XMLHandler>(_ part: String, archive: ZipArchive, handler: H, name: String, limits: ReadLimits,
                                              deadline: ReadDeadline?) throws(ReadError) -> H {
        let stream = try archive.open(part)
        let xml = XMLStream(handler: handler, file: name, part: part, limits: limits)
        let chunk = ChunkBuffer(count: 64 << 10)
        while true {
            try deadline?.check(file: name)
            let n = try stream.read(into: chunk.raw)
            try xml.feed(chunk.prefix(n), isFinal: n == 0)
            if n == 0 { return handler }
        }
    }

    deinit { sheetBytes.cancel() }

    /// The next row of the worksheet, header included, or nil after the last one.
    /// - Throws: ``ReadError`` when the sheet's data is corrupt, its XML malformed or unsafe, or a
    ///   limit in ``ReadLimits`` is exceeded.
    public func nextRecord() throws(ReadError) -> SourceRow? {
        while pending.isEmpty {
            if finished { return nil }
            if chunk == nil || offset == chunk!.bytes.count {
                chunk = try sheetBytes.next()
                offset = 0
            }
            if let chunk {
                // A slice at a time: the rows one slice of XML can hold are what is in memory
                // at once, however sparse they are (a row padded to a wide header costs 16 bytes a
                // column for a few bytes of XML).
                let end = min(offset + Self.sliceBytes, chunk.bytes.count)
                try xml.feed(UnsafeRawBufferPointer(rebasing: chunk.bytes[offset..<end]), isFinal: false)
                offset = end
            } else {
                try xml.feed(UnsafeRawBufferPointer(start: nil, count: 0), isFinal: true)
                finished = true
            }
            swap(&pending, &sheetParser.completed)
            pending.reverse()
        }
        return pending.popLast()
    }

    /// Bytes of sheet XML parsed per step.
    private static let sliceBytes = 16_384
    /// The inflated chunk being parsed, and how far.
    private var chunk: EntryPrefetch.Chunk?
    private var offset = 0
}

/// Part names inside an OPC package.
enum PartName {
    /// Resolves a relationship target against the part that holds the relationship: absolute
    /// targets (`/xl/worksheets/sheet1.xml`) from the package root, relative ones from the
    /// source part's folder, with `.`, `..` and backslashes handled.
    static func resolve(_ target: String, from source: String) -> String {
        let target = String(target.map { $0 == "\\" ? "/" : $0 })
        var components: [Substring] = []
        if !target.hasPrefix("/") {
            components = source.split(separator: "/")
            if !components.isEmpty { components.removeLast() }
        }
        for piece in target.split(separator: "/") {
            if piece == "." { continue }
            if piece == ".." { if !components.isEmpty { components.removeLast() }; continue }
            components.append(piece)
        }
        return components.joined(separator: "/")
    }

    /// `xl/workbook.xml` → `xl/_rels/workbook.xml.rels`.
    static func relationshipsPart(of part: String) -> String {
        var components = part.split(separator: "/").map(String.init)
        let last = components.removeLast()
        return (components + ["_rels", last + ".rels"]).joined(separator: "/")
    }
}
