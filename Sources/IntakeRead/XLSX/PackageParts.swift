/// A relationship from one OPC part to another (`*.rels`).
struct Relationship {
    var id: String
    var type: String
    var target: String
    var external: Bool

    /// The type's last path component (`officeDocument`, `worksheet`, `sharedStrings`, `styles`),
    /// which is the same in transitional and Strict OOXML whose type URIs differ.
    var kind: Substring { type.split(separator: "/").last ?? "" }
}

/// Parses a relationships part.
final class RelationshipsParser: XMLHandler {
    private(set) var relationships: [Relationship] = []
    let failure: ReadError? = nil

    func start(_ name: XMLName, _ attributes: XMLAttributes) {
        guard name.is("Relationship") else { return }
        relationships.append(Relationship(
            id: attributes.string("Id") ?? "",
            type: attributes.string("Type") ?? "",
            target: attributes.string("Target") ?? "",
            external: attributes.string("TargetMode")?.lowercased() == "external"
        ))
    }
    func end(_ name: XMLName) {}
    func text(_ bytes: UnsafeBufferPointer<UInt8>) {}
}

/// Parses a custom-properties part (`docProps/custom.xml`) for its property names, which is how
/// a workbook Intake wrote is recognised when it comes back (``ResultWorkbookMark``).
final class CustomPropertiesParser: XMLHandler {
    private(set) var names: Set<String> = []
    let failure: ReadError? = nil

    func start(_ name: XMLName, _ attributes: XMLAttributes) {
        // A workbook has a handful of properties; a hostile part is bounded by the part-size limit.
        if name.is("property"), let property = attributes.string("name"), names.count < 1024 { names.insert(property) }
    }
    func end(_ name: XMLName) {}
    func text(_ bytes: UnsafeBufferPointer<UInt8>) {}
}

/// Parses `workbook.xml`: the sheets in workbook order and the date system.
final class WorkbookParser: XMLHandler {
    struct Sheet {
        var name: String
        var relationshipID: String
        var hidden: Bool
    }
    private(set) var sheets: [Sheet] = []
    private(set) var date1904 = false
    let failure: ReadError? = nil

    func start(_ name: XMLName, _ attributes: XMLAttributes) {
        if name.is("sheet") {
            let state = attributes.string("state") ?? "visible"
            // The relationship id is `r:id` in the relationships namespace, whatever its prefix.
            sheets.append(Sheet(name: attributes.string("name") ?? "", relationshipID: attributes.string("id") ?? "", hidden: state != "visible"))
        } else if name.is("workbookPr") {
            if let v = attributes.string("date1904") { date1904 = v == "1" || v.lowercased() == "true" }
        }
    }
    func end(_ name: XMLName) {}
    func text(_ bytes: UnsafeBufferPointer<UInt8>) {}
}

/// Parses `styles.xml` far enough to know which cell styles display numbers as dates or times.
final class StylesParser: XMLHandler {
    private var customFormats: [Int: String] = [:]
    private var cellFormatIDs: [Int] = []
    private var inCellXfs = false
    let failure: ReadError? = nil

    func start(_ name: XMLName, _ attributes: XMLAttributes) {
        if name.is("numFmt") {
            if let id = attributes.string("numFmtId").flatMap(Int.init), let code = attributes.string("formatCode") {
                customFormats[id] = code
            }
        } else if name.is("cellXfs") {
            inCellXfs = true
        } else if name.is("xf") && inCellXfs {
            cellFormatIDs.append(attributes.string("numFmtId").flatMap(Int.init) ?? 0)
        }
    }
    func end(_ name: XMLName) {
        if name.is("cellXfs") { inCellXfs = false }
    }
    func text(_ bytes: UnsafeBufferPointer<UInt8>) {}

    /// The display kind of each cell style (`s` attribute), indexed as in the sheet.
    var styleKinds: [NumberDisplay] {
        cellFormatIDs.map { id in
            if let code = customFormats[id] { return NumberDisplay(formatCode: code) }
            return NumberDisplay(builtinFormat: id)
        }
    }
}

/// Parses the shared strings table into a ``SharedStringTable``: rich-text runs joined, phonetic
/// runs skipped.
final class SharedStringsParser: XMLHandler {
    let strings: SharedStringTable
    private(set) var failure: ReadError?
    private var current: [UInt8] = []
    private var inItem = false
    private var inText = false
    private var phoneticDepth = 0
    private var accountedBytes: Int64 = 0
    private let limit: Int64
    private let file: String
    private let maxCellBytes: Int
    private let maxCharacters: Int

    init(file: String, limits: ReadLimits, scratchDirectory: String) {
        strings = SharedStringTable(limits: limits, scratchDirectory: scratchDirectory)
        self.maxCharacters = limits.maxCellCharacters
        self.file = file
        self.limit = limits.maxSharedStringBytes
        self.maxCellBytes = limits.maxCellCharacters * 4
    }

    func start(_ name: XMLName, _ attributes: XMLAttributes) {
        guard failure == nil else { return } // the first problem is the one reported
        if name.is("si") {
            inItem = true
            current.removeAll(keepingCapacity: true)
        } else if name.is("rPh") {
            phoneticDepth += 1
        } else if name.is("t") && inItem && phoneticDepth == 0 {
            inText = true
        }
    }

    func end(_ name: XMLName) {
        guard failure == nil else { return }
        if name.is("t") {
            inText = false
        } else if name.is("rPh") {
            phoneticDepth -= 1
        } else if name.is("si") {
            inItem = false
            let text = CellText.decodeEscapes(String(decoding: current, as: UTF8.self))
            if text.utf8.count > maxCharacters && text.utf16.count > maxCharacters {
                failure = ReadError(.limitExceeded, file: file, "shared string \(strings.count) has more than \(maxCharacters) characters, more than a cell may hold")
                return
            }
            // The table's own count attributes are never trusted; its size is accounted as it grows.
            accountedBytes += 4 + Int64(text.utf8.count)
            if accountedBytes > limit {
                failure = ReadError(.limitExceeded, file: file, "the shared strings table holds more than \(limit) bytes")
                return
            }
            do { try strings.append(text) } catch {
                failure = ReadError(io: error, file: file)
            }
        }
    }

    func text(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard inText, failure == nil else { return }
        if current.count + bytes.count > maxCellBytes {
            failure = ReadError(.limitExceeded, file: file, "shared string \(strings.count) is longer than a cell may be (32,767 characters)")
            inText = false
            return
        }
        current.append(contentsOf: bytes)
    }
}
