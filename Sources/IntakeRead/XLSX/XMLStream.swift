import CExpat

#if canImport(Glibc)
import Glibc
#endif

/// An element or attribute name from expat, valid only during the callback that passed it.
///
/// Names are matched by their local part alone (after any `prefix:`), which makes `x:c`, `c`,
/// transitional and Strict OOXML all alike. The parser runs without namespace processing: Intake
/// never needs the namespace URIs, and resolving them for every element and attribute was about a
/// third of expat's time on a large sheet.
struct XMLName {
    let raw: UnsafePointer<CChar>

    /// The local part (after the prefix), as a C string. Scanned inline: names are a few bytes
    /// long (`c`, `v`, `row`), and a call to libc's `strrchr` for each of the tens of millions of
    /// elements and attributes of a large sheet cost more than the scan.
    var local: UnsafePointer<CChar> {
        var start = raw
        var p = raw
        while p.pointee != 0 {
            if p.pointee == 0x3A { start = p + 1 }
            p += 1
        }
        return start
    }

    /// `xmlns` or `xmlns:prefix`: a namespace declaration, not an attribute of the document.
    var isNamespaceDeclaration: Bool {
        raw[0] == 0x78 && raw[1] == 0x6D && raw[2] == 0x6C && raw[3] == 0x6E && raw[4] == 0x73 && (raw[5] == 0 || raw[5] == 0x3A)
    }

    /// Whether the local part equals `name` (ASCII).
    func `is`(_ name: StaticString) -> Bool {
        let l = local
        let n = name.utf8Start
        for i in 0..<name.utf8CodeUnitCount {
            if UInt8(bitPattern: l[i]) != n[i] { return false }
        }
        return l[name.utf8CodeUnitCount] == 0
    }
}

/// The attributes of a start tag, valid only during the callback that passed them.
struct XMLAttributes {
    let raw: UnsafeMutablePointer<UnsafePointer<CChar>?>?

    /// The value of the attribute whose local name is `name`, whatever its prefix
    /// (`xmlns:r` declares a prefix; it is not an attribute named `r`).
    func value(_ name: StaticString) -> UnsafePointer<CChar>? {
        guard var p = raw else { return nil }
        while let key = p.pointee {
            let attribute = XMLName(raw: key)
            if attribute.is(name) && !attribute.isNamespaceDeclaration { return p[1] }
            p += 2
        }
        return nil
    }

    /// Calls `body` with each attribute's name and value, namespace declarations left out.
    func forEach(_ body: (XMLName, UnsafePointer<CChar>) -> Void) {
        guard var p = raw else { return }
        while let key = p.pointee, let value = p[1] {
            let attribute = XMLName(raw: key)
            if !attribute.isNamespaceDeclaration { body(attribute, value) }
            p += 2
        }
    }

    func string(_ name: StaticString) -> String? {
        value(name).map { String(cString: $0) }
    }
}

/// What an XML part parser does with expat's events.
protocol XMLHandler: AnyObject {
    func start(_ name: XMLName, _ attributes: XMLAttributes)
    func end(_ name: XMLName)
    func text(_ bytes: UnsafeBufferPointer<UInt8>)
    /// Set by the handler when the part cannot be used; from then on the handler ignores events.
    /// The stream reports it when the chunk it happened in is parsed: asking after every element
    /// instead cost a protocol call per element, tens of millions on a large sheet.
    var failure: ReadError? { get }
}

/// The one owner of an expat `XML_Parser`, fed by the caller chunk by chunk (streaming SAX).
///
/// Refuses any DOCTYPE: SpreadsheetML never needs one, and refusing it outright closes the door on
/// entity expansion attacks (billion laughs) and external entities, whatever expat's own defences.
/// Nesting deeper than ``ReadLimits/maxXMLDepth`` stops the parse as well.
final class XMLStream {
    private let parser: XML_Parser
    private let handler: any XMLHandler
    private let file: String
    private let part: String
    private let maxDepth: Int
    private var depth = 0
    fileprivate var failure: ReadError?

    init(handler: any XMLHandler, file: String, part: String, limits: ReadLimits) {
        parser = XML_ParserCreate(nil)
        self.handler = handler
        self.file = file
        self.part = part
        self.maxDepth = limits.maxXMLDepth
        XML_SetUserData(parser, Unmanaged.passUnretained(self).toOpaque())
        XML_SetElementHandler(parser, xmlStart, xmlEnd)
        XML_SetCharacterDataHandler(parser, xmlText)
        XML_SetStartDoctypeDeclHandler(parser, xmlDoctype)
        XML_SetEntityDeclHandler(parser, xmlEntity)
    }

    deinit { XML_ParserFree(parser) }

    /// Parses the next chunk; `isFinal` on the last one (which may be empty).
    func feed(_ bytes: UnsafeRawBufferPointer, isFinal: Bool) throws(ReadError) {
        // `self` must outlive the callbacks that reach it through the unretained user data.
        let status = withExtendedLifetime(self) {
            XML_Parse(parser, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(bytes.count), isFinal ? 1 : 0)
        }
        if let failure { throw failure }
        if let failure = handler.failure { throw failure }
        if status == XML_STATUS_ERROR {
            let code = XML_GetErrorCode(parser)
            let message = String(cString: XML_ErrorString(code))
            let line = Int(XML_GetCurrentLineNumber(parser))
            throw ReadError(.malformedXML, file: file, "the part \"\(part)\" is not well-formed XML (expat: \(message) at line \(line))")
        }
    }

    /// Parses a whole part held in memory.
    func parse(_ bytes: [UInt8]) throws(ReadError) {
        // Array.withUnsafeBytes only rethrows untyped errors; carry the typed one out in a Result.
        try bytes.withUnsafeBytes { raw in Result { () throws(ReadError) in try feed(raw, isFinal: true) } }.get()
    }

    fileprivate func stop(_ error: ReadError) {
        if failure == nil { failure = error }
        XML_StopParser(parser, 0)
    }

    fileprivate func started(_ name: XMLName, _ attributes: XMLAttributes) {
        depth += 1
        if depth > maxDepth {
            stop(ReadError(.unsafeXML, file: file, "the part \"\(part)\" nests elements more than \(maxDepth) deep"))
            return
        }
        handler.start(name, attributes)
    }

    fileprivate func ended(_ name: XMLName) {
        depth -= 1
        handler.end(name)
    }

    fileprivate func received(_ text: UnsafeBufferPointer<UInt8>) {
        handler.text(text)
    }

    fileprivate func refuseDoctype() {
        stop(ReadError(.unsafeXML, file: file, "the part \"\(part)\" has a DOCTYPE declaration, which Intake refuses (entity expansion and external entities are an attack vector)"))
    }
}

/// Runs `body` with the stream behind expat's user data, without retaining it: `feed` keeps the
/// stream alive for the whole `XML_Parse` call (`withExtendedLifetime`), and a retain and release
/// per callback (tens of millions on a large sheet) was a measurable share of reading one.
private func withStream(_ userData: UnsafeMutableRawPointer?, _ body: (XMLStream) -> Void) {
    Unmanaged<XMLStream>.fromOpaque(userData!)._withUnsafeGuaranteedRef(body)
}

private func xmlStart(_ userData: UnsafeMutableRawPointer?, _ name: UnsafePointer<CChar>?, _ attributes: UnsafeMutablePointer<UnsafePointer<CChar>?>?) {
    withStream(userData) { $0.started(XMLName(raw: name!), XMLAttributes(raw: attributes)) }
}

private func xmlEnd(_ userData: UnsafeMutableRawPointer?, _ name: UnsafePointer<CChar>?) {
    withStream(userData) { $0.ended(XMLName(raw: name!)) }
}

private func xmlText(_ userData: UnsafeMutableRawPointer?, _ text: UnsafePointer<CChar>?, _ length: Int32) {
    guard let text, length > 0 else { return }
    let bytes = UnsafeRawPointer(text).assumingMemoryBound(to: UInt8.self)
    withStream(userData) { $0.received(UnsafeBufferPointer(start: bytes, count: Int(length))) }
}

private func xmlDoctype(_ userData: UnsafeMutableRawPointer?, _ name: UnsafePointer<CChar>?, _ systemID: UnsafePointer<CChar>?, _ publicID: UnsafePointer<CChar>?, _ hasInternalSubset: Int32) {
    withStream(userData) { $0.refuseDoctype() }
}

private func xmlEntity(_ userData: UnsafeMutableRawPointer?, _ name: UnsafePointer<CChar>?, _ isParameter: Int32, _ value: UnsafePointer<CChar>?, _ length: Int32, _ base: UnsafePointer<CChar>?, _ systemID: UnsafePointer<CChar>?, _ publicID: UnsafePointer<CChar>?, _ notation: UnsafePointer<CChar>?) {
    withStream(userData) { $0.refuseDoctype() }
}
