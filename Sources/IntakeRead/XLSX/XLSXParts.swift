/// Single parts of a workbook read on their own, without the zip around them: for tools that
/// inspect one part, and for the fuzz targets (`make fuzz`), which reach the XML handlers and the
/// number formats directly instead of spending their time on the zip layer.
public enum XLSXParts {
    /// The rows of a worksheet part (`xl/worksheets/sheetN.xml`), header included, with cell
    /// styles from `styles` (a styles part, or nil) and shared strings from `sharedStrings` (a
    /// shared-strings part, or nil).
    /// - Throws: ``ReadError`` as a whole workbook's reader would for the same part.
    public static func worksheetRows(_ worksheet: [UInt8], sharedStrings: [UInt8]? = nil, styles: [UInt8]? = nil,
                                     file: String = "part", options: ReadOptions = ReadOptions()) throws(ReadError) -> [SourceRow] {
        let limits = options.limits
        let table = try sharedStrings.map { part throws(ReadError) in try sharedStringTable(part, file: file, options: options) }
            ?? SharedStringTable(limits: limits, scratchDirectory: options.scratchDirectory)
        let kinds = try styles.map { part throws(ReadError) in try parse(part, StylesParser(), file: file, name: "styles", limits: limits).styleKinds } ?? []
        let parser = SheetParser(file: file, sharedStrings: table, styles: kinds, date1904: false, limits: limits)
        _ = try parse(worksheet, parser, file: file, name: "worksheet", limits: limits)
        return parser.completed
    }

    /// The strings of a shared-strings part (`xl/sharedStrings.xml`), in order.
    /// - Throws: ``ReadError`` as a whole workbook's reader would for the same part.
    public static func sharedStrings(_ part: [UInt8], file: String = "part", options: ReadOptions = ReadOptions()) throws(ReadError) -> [String] {
        let table = try sharedStringTable(part, file: file, options: options)
        var strings: [String] = []
        for index in 0..<table.count {
            do { strings.append(try table.string(at: index) ?? "") } catch { throw ReadError(io: error, file: file) }
        }
        return strings
    }

    /// How a cell holding the number `value` reads with the custom number format `formatCode`
    /// (a date, a time, or the number itself), in either date system.
    public static func cellText(number value: String, formatCode: String, date1904: Bool = false) -> String {
        let display = NumberDisplay(formatCode: formatCode)
        return display == .number ? CellText.number(value) : CellText.date(Array(value.utf8), display: display, date1904: date1904)
    }

    private static func sharedStringTable(_ part: [UInt8], file: String, options: ReadOptions) throws(ReadError) -> SharedStringTable {
        let parser = try parse(part, SharedStringsParser(file: file, limits: options.limits, scratchDirectory: options.scratchDirectory),
                               file: file, name: "sharedStrings", limits: options.limits)
        do { try parser.strings.finish() } catch { throw ReadError(io: error, file: file) }
        return parser.strings
    }

    private static func parse<H: XMLHandler>(_ bytes: [UInt8], _ handler: H, file: String, name: String, limits: ReadLimits) throws(ReadError) -> H {
        try XMLStream(handler: handler, file: file, part: name, limits: limits).parse(bytes)
        return handler
    }
}
