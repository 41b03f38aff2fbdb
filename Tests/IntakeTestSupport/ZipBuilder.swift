import CZip
import Foundation

/// Builds zip archives (and so XLSX packages) for tests, with libzip.
public struct ZipBuilder {
    public struct Entry {
        public var name: String
        public var bytes: [UInt8]
        public init(_ name: String, _ bytes: [UInt8]) { self.name = name; self.bytes = bytes }
        public init(_ name: String, _ text: String) { self.init(name, Array(text.utf8)) }
    }

    /// Writes `entries`, deflated, to `path`.
    public static func write(_ path: String, _ entries: [Entry]) throws {
        var code: Int32 = 0
        guard let zip = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &code) else {
            throw TestFailure("zip_open \(path) failed with \(code)")
        }
        // libzip reads the buffers at zip_close, so they must stay alive until then.
        var buffers: [UnsafeMutableRawPointer] = []
        defer { buffers.forEach { $0.deallocate() } }
        for entry in entries {
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(entry.bytes.count, 1), alignment: 1)
            buffers.append(buffer)
            entry.bytes.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress!, byteCount: entry.bytes.count) }
            guard let source = zip_source_buffer(zip, buffer, UInt64(entry.bytes.count), 0),
                  zip_file_add(zip, entry.name, source, UInt32(ZIP_FL_OVERWRITE | ZIP_FL_ENC_UTF_8)) >= 0 else {
                throw TestFailure("zip_file_add \(entry.name): \(String(cString: zip_strerror(zip)))")
            }
        }
        guard zip_close(zip) == 0 else {
            throw TestFailure("zip_close: \(String(cString: zip_strerror(zip)))")
        }
    }
}

/// Minimal XLSX packages: a workbook with one sheet whose XML the test supplies.
public enum XLSXFixture {
    /// Styles with date formats: `s="1"` is built-in 14 (date), `s="2"` built-in 22 (date and time),
    /// `s="3"` custom `dd.mm.yyyy hh:mm`, `s="4"` a Russian long date, `s="5"` a currency number.
    public static let styles = """
    <?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">\
    <numFmts count="3"><numFmt numFmtId="164" formatCode="dd\\.mm\\.yyyy\\ hh:mm"/><numFmt numFmtId="165" formatCode="[$-419]d\\ mmmm\\ yyyy&quot;г.&quot;"/>\
    <numFmt numFmtId="166" formatCode="#,##0.00\\ &quot;₽&quot;"/></numFmts>\
    <cellStyleXfs count="1"><xf numFmtId="14"/></cellStyleXfs>\
    <cellXfs count="6"><xf numFmtId="0"/><xf numFmtId="14"/><xf numFmtId="22"/><xf numFmtId="164"/><xf numFmtId="165"/><xf numFmtId="166"/></cellXfs></styleSheet>
    """

    public static let contentTypes = """
    <?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">\
    <Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>\
    <Default Extension="xml" ContentType="application/xml"/></Types>
    """
    public static let rootRels = """
    <?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">\
    <Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>
    """
    public static let workbook = """
    <?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" \
    xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Data" sheetId="1" r:id="rId1"/></sheets></workbook>
    """
    public static let workbookRels = """
    <?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">\
    <Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>\
    <Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>\
    <Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>
    """

    /// Writes a workbook whose only sheet is `sheetXML`, with an optional shared strings part.
    public static func write(_ path: String, sheetXML: [UInt8], sharedStrings: [UInt8]? = nil, styles: String? = nil, workbook: String = workbook) throws {
        var entries: [ZipBuilder.Entry] = [
            .init("[Content_Types].xml", contentTypes),
            .init("_rels/.rels", rootRels),
            .init("xl/workbook.xml", workbook),
            .init("xl/_rels/workbook.xml.rels", workbookRels),
            .init("xl/worksheets/sheet1.xml", sheetXML),
        ]
        if let sharedStrings { entries.append(.init("xl/sharedStrings.xml", sharedStrings)) }
        if let styles { entries.append(.init("xl/styles.xml", styles)) }
        try ZipBuilder.write(path, entries)
    }

    public static func write(_ path: String, sheetXML: String, sharedStrings: String? = nil, styles: String? = nil, workbook: String = workbook) throws {
        try write(path, sheetXML: Array(sheetXML.utf8), sharedStrings: sharedStrings.map { Array($0.utf8) }, styles: styles, workbook: workbook)
    }

    /// A sheet of inline-string rows.
    public static func sheet(rows: [[String]]) -> String {
        var xml = #"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#
        for (r, row) in rows.enumerated() {
            xml += "<row r=\"\(r + 1)\">"
            for cell in row {
                let escaped = cell.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                xml += "<c t=\"inlineStr\"><is><t xml:space=\"preserve\">\(escaped)</t></is></c>"
            }
            xml += "</row>"
        }
        return xml + "</sheetData></worksheet>"
    }
}

/// A worksheet XML document around `sheetData` content.
public func worksheetXML(_ sheetData: String, before: String = "") -> String {
    #"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">"#
        + before + "<sheetData>" + sheetData + "</sheetData></worksheet>"
}

public struct TestFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Reads one entry of a zip archive, for tests that look at a workbook's raw XML.
public func zipEntry(_ path: String, _ name: String) throws -> String {
    var code: Int32 = 0
    guard let zip = zip_open(path, ZIP_RDONLY, &code) else { throw TestFailure("zip_open \(path): \(code)") }
    defer { zip_discard(zip) }
    guard let file = zip_fopen(zip, name, 0) else { throw TestFailure("no \(name) in \(path)") }
    defer { zip_fclose(file) }
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65_536)
    while true {
        let n = chunk.withUnsafeMutableBytes { zip_fread(file, $0.baseAddress, 65_536) }
        if n <= 0 { break }
        out += chunk[0..<Int(n)]
    }
    return String(decoding: out, as: UTF8.self)
}

/// The names of a zip archive's entries.
public func zipEntryNames(_ path: String) throws -> [String] {
    var code: Int32 = 0
    guard let zip = zip_open(path, ZIP_RDONLY, &code) else { throw TestFailure("zip_open \(path): \(code)") }
    defer { zip_discard(zip) }
    return (0..<max(0, zip_get_num_entries(zip, 0))).compactMap { index in zip_get_name(zip, UInt64(index), 0).map { String(cString: $0) } }
}
