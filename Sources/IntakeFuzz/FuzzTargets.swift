import IntakeImport
import IntakeRead
import IntakeSystem
import IntakeValidate

#if canImport(Glibc)
import Glibc
#endif

/// The fuzz targets: each takes arbitrary bytes as a partner could send them and checks what the
/// code promises about the result, not only that it does not crash. `make fuzz` runs them under
/// libFuzzer (the `Fuzz/` package); `IntakeFuzzTests` replays every input under `Fixtures/fuzz/`.
///
/// A broken promise throws ``InvariantViolation``; a refusal of the input (a ``ReadError``, a
/// ``FieldError``) is an answer, checked for a message, never a failure.
public enum FuzzTargets {
    /// Every target by the name `make fuzz` and `Fixtures/fuzz/<name>/` use.
    public static let all: [(name: String, run: @Sendable ([UInt8]) throws(InvariantViolation) -> Void)] = [
        ("csv", csv), ("xlsx", xlsx), ("sheet", sheet), ("shared-strings", sharedStrings),
        ("number-format", numberFormat), ("field-rules", fieldRules), ("settings", settings), ("json", json),
    ]

    /// Bytes as a CSV file: encoding and delimiter detection, then every row.
    public static func csv(_ bytes: [UInt8]) throws(InvariantViolation) {
        try table(bytes, name: "fuzz.csv")
    }

    /// Bytes as a whole workbook file.
    public static func xlsx(_ bytes: [UInt8]) throws(InvariantViolation) {
        try table(bytes, name: "fuzz.xlsx")
    }

    /// Bytes as one worksheet part, with a fixed shared-strings part and styles.
    public static func sheet(_ bytes: [UInt8]) throws(InvariantViolation) {
        let strings = Array(#"<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>a</t></si><si><t>b_x0000_</t></si></sst>"#.utf8)
        let styles = Array(#"<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><numFmts count="1"><numFmt numFmtId="164" formatCode="dd.mm.yyyy hh:mm"/></numFmts><cellXfs count="3"><xf numFmtId="0"/><xf numFmtId="14"/><xf numFmtId="164"/></cellXfs></styleSheet>"#.utf8)
        let rows: [SourceRow]
        do throws(ReadError) {
            rows = try XLSXParts.worksheetRows(bytes, sharedStrings: strings, styles: styles, file: "fuzz.xlsx", options: options)
        } catch {
            return try checkRefusal(error, file: "fuzz.xlsx")
        }
        var previous = 0
        for row in rows {
            try check(row.number > previous && row.number <= 1_048_576, "row \(row.number) after \(previous)")
            previous = row.number
            try checkCells(row, maxCells: 16_384)
        }
    }

    /// Bytes as a shared-strings part.
    public static func sharedStrings(_ bytes: [UInt8]) throws(InvariantViolation) {
        let strings: [String]
        do throws(ReadError) {
            strings = try XLSXParts.sharedStrings(bytes, file: "fuzz.xlsx", options: options)
        } catch {
            return try checkRefusal(error, file: "fuzz.xlsx")
        }
        for string in strings { try check(string.utf16.count <= options.limits.maxCellCharacters, "a shared string longer than a cell") }
    }

    /// The first line as a number format code, the rest as a cell's number: dates come out in
    /// Intake's forms, numbers as numbers.
    public static func numberFormat(_ bytes: [UInt8]) throws(InvariantViolation) {
        let text = String(decoding: bytes, as: UTF8.self)
        let parts = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
        let format = String(parts.first ?? ""), value = parts.count > 1 ? String(parts[1]) : "0"
        for date1904 in [false, true] {
            let shown = XLSXParts.cellText(number: value, formatCode: format, date1904: date1904)
            try check(shown.utf8.count <= value.utf8.count + 64, "a cell's text grew from \(value.utf8.count) to \(shown.utf8.count) bytes")
            try check(!shown.utf8.contains(0) || value.utf8.contains(0), "a NUL appeared")
        }
    }

    /// The bytes as an email, a phone and a created_at: an accepted value is in its stored form,
    /// and checking it again changes nothing.
    public static func fieldRules(_ bytes: [UInt8]) throws(InvariantViolation) {
        let raw = String(decoding: bytes, as: UTF8.self)
        if let email = try? FieldRules.email(raw) {
            try check((try? FieldRules.email(email)) == email, "email not stable: \(email.debugDescription)")
            try check(email.utf8.filter { $0 == UInt8(ascii: "@") }.count == 1, "email without exactly one @: \(email.debugDescription)")
        }
        if let phone = try? FieldRules.phone(raw) {
            let digits = phone.utf8.filter { $0 >= 0x30 && $0 <= 0x39 }.count
            try check((5...15).contains(digits) && phone.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: "+") }, "phone not stored plain: \(phone.debugDescription)")
            try check(phone.utf8.dropFirst().allSatisfy { $0 != UInt8(ascii: "+") }, "a + past the start: \(phone.debugDescription)")
            try check((try? FieldRules.phone(phone)) == phone, "phone not stable: \(phone.debugDescription)")
        }
        if let stamp = try? TimestampParser.parse(raw) {
            let shape = Array(stamp.utf8)
            try check(shape.count == 19 && shape[4] == UInt8(ascii: "-") && shape[10] == UInt8(ascii: " ") && shape[13] == UInt8(ascii: ":"), "created_at not stored as YYYY-MM-DD HH:MM:SS: \(stamp)")
            try check((try? TimestampParser.parse(stamp)) == stamp, "created_at not stable: \(stamp)")
        }
        if let id = try? FieldRules.externalID(raw) {
            try check(!id.isEmpty && id.utf8.count <= FieldRules.maxExternalIDLength * 4, "external_id empty or too long")
        }
    }

    /// Bytes as a settings file: parsed, or refused with a message (and a line where YAML has one).
    public static func settings(_ bytes: [UInt8]) throws(InvariantViolation) {
        let settings: Settings
        do throws(SettingsError) {
            settings = try Settings.parse(String(decoding: bytes, as: UTF8.self))
        } catch {
            return try check(!error.message.isEmpty, "a settings error without a message")
        }
        for partner in [settings.defaults] + Array(settings.partners.values) {
            if let seconds = partner.settleSeconds { try check(seconds >= 0 && seconds <= 86_400, "settle_seconds out of range") }
            _ = try? partner.policy()
        }
    }

    /// Bytes as an API request body: parsed, or refused at a position inside the body; a parsed
    /// value written out by ``JSONWriter`` parses back to the same value (order, number text).
    public static func json(_ bytes: [UInt8]) throws(InvariantViolation) {
        let value: JSONValue
        do throws(JSONSyntaxError) {
            value = try JSONReader.parse(bytes)
        } catch {
            return try check(error.offset <= bytes.count && error.line >= 1 && error.column >= 1 && !error.message.isEmpty,
                             "a JSON error outside the body or without a message: \(error)")
        }
        var writer = JSONWriter()
        write(value, into: &writer)
        let again = try? JSONReader.parse(writer.bytes)
        try check(again == value, "JSON written back does not parse to the same value: \(writer.text.prefix(200))")
    }

    private static func write(_ value: JSONValue, into json: inout JSONWriter) {
        switch value {
        case .null: json.raw("null")
        case .bool(let flag): json.raw(flag ? "true" : "false")
        case .number(let text): json.raw(text)
        case .string(let text): json.string(text)
        case .array(let elements):
            json.beginArray()
            for element in elements { write(element, into: &json) }
            json.endArray()
        case .object(let members):
            json.beginObject()
            for (key, member) in members {
                json.key(key)
                write(member, into: &json)
            }
            json.endObject()
        }
    }

    // MARK: Shared checks

    /// Limits as the service uses them, but a smaller text budget so that a fuzzed file meets it.
    static let options: ReadOptions = {
        var options = ReadOptions()
        options.limits.maxTextBytes = 64 << 20
        options.limits.sharedStringsMemoryBytes = 1 << 20
        return options
    }()

    /// Writes the input where the readers, which take paths, find it: one scratch file a process.
    private static func table(_ bytes: [UInt8], name: String) throws(InvariantViolation) {
        let path = "\(options.scratchDirectory)/intake-fuzz-\(getpid())-\(name)"
        do {
            let file = try FileDescriptor(opening: path, flags: O_WRONLY | O_CREAT | O_TRUNC, mode: 0o600)
            try file.writeAll(bytes)
        } catch {
            throw InvariantViolation("cannot write the scratch input: \(error)")
        }
        defer { try? FileSystem.removeFile(path) }
        var readOptions = options
        readOptions.displayName = name
        do {
            let table = try Spreadsheet.open(path, options: readOptions)
            let width = table.header.cells.count
            try check(width >= 1 && width <= 16_384, "a header of \(width) columns")
            var previous = table.header.number
            while let row = try table.nextRow() {
                try check(row.number > previous, "row \(row.number) after \(previous)")
                previous = row.number
                try check(row.problem != nil || row.cells.count == width, "row \(row.number) has \(row.cells.count) cells and no problem; the header has \(width)")
                // A row with a problem may be any width (a CSV line of a million commas is one).
                try checkCells(row, maxCells: row.problem == nil ? width : Int.max)
            }
        } catch let error as ReadError {
            try checkRefusal(error, file: name)
        } catch let violation as InvariantViolation {
            throw violation
        } catch {
            throw InvariantViolation("an unexpected error: \(error)")
        }
    }

    private static func checkCells(_ row: SourceRow, maxCells: Int) throws(InvariantViolation) {
        try check(row.cells.count <= maxCells, "row \(row.number) has \(row.cells.count) cells")
        var bytes = 0
        for cell in row.cells {
            bytes += cell.utf8.count
            if row.problem == nil { try check(!cell.utf8.contains(0), "a NUL in row \(row.number), which has no problem") }
        }
        // A CSV record is capped at 1 MiB of its own bytes, which may decode to more UTF-8
        // (a windows-1251 letter takes two); an XLSX row at 1 MiB of text.
        try check(bytes <= options.limits.maxRecordBytes * 3, "row \(row.number) holds \(bytes) bytes")
        if let problem = row.problem { try check(!problem.isEmpty, "an empty problem") }
    }

    private static func checkRefusal(_ error: ReadError, file: String) throws(InvariantViolation) {
        try check(!error.message.isEmpty && error.description.hasPrefix(file), "a refusal without its file or message: \(error)")
        if let line = error.line { try check(line >= 0, "a negative line") }
    }

    private static func check(_ condition: Bool, _ message: @autoclosure () -> String) throws(InvariantViolation) {
        if !condition { throw InvariantViolation(message()) }
    }
}

/// A promise of a reader or a rule that an input broke.
public struct InvariantViolation: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
