import ArgumentParser
import IntakeRead
import IntakeSystem

#if canImport(Glibc)
import Glibc
#endif

/// `intake preview FILE`: shows how Intake reads a file.
struct Preview: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print how Intake reads a CSV or XLSX file.",
        discussion: """
        The first line is a JSON object describing the file (format, sheet, encoding, delimiter); \
        then the header and the data rows, one JSON array of strings per line. Rows Intake would \
        reject as malformed are printed too, with the reason on stderr.
        """
    )

    @Argument(help: "The file to read.")
    var file: String

    @Option(help: "How many data rows to print, or 'all'.")
    var limit: RowLimit = .count(20)

    @Option(help: "The XLSX worksheet to read, by name, instead of the first visible one.")
    var sheet: String?

    @OptionGroup var reading: ReadingOptions

    func run() throws {
        let out = OutputStream(fd: STDOUT_FILENO)
        let err = OutputStream(fd: STDERR_FILENO)
        do {
            var options = try reading.readOptions()
            options.sheet = sheet
            let table = try Spreadsheet.open(file, options: options)
            let info = table.info
            var json = JSONWriter()
            json.beginObject()
            for (key, value) in [("format", info.format.rawValue), ("sheet", info.sheet), ("encoding", info.encoding), ("delimiter", info.delimiter)] {
                json.key(key)
                json.string(value)
            }
            json.endObject()
            json.endLine()
            try out.write(json.bytes)
            json.removeAll()
            json.strings(table.header.cells)
            json.endLine()
            try out.write(json.bytes)
            var printed = 0
            while limit.allows(printed), let row = try table.nextRow() {
                json.removeAll()
                json.strings(row.cells)
                json.endLine()
                try out.write(json.bytes)
                if let problem = row.problem {
                    try err.write("\(table.name): line \(row.number): \(problem)\n")
                }
                printed += 1
            }
            try out.flush()
            try err.flush()
        } catch let error as ReadError {
            try? out.flush()
            try? err.write("intake: \(error.description)\n")
            try? err.flush()
            throw ExitCode(2)
        }
    }
}

/// `--limit N` or `--limit all`.
enum RowLimit: ExpressibleByArgument {
    case count(Int)
    case all

    init?(argument: String) {
        if argument.lowercased() == "all" { self = .all; return }
        guard let n = Int(argument), n >= 0 else { return nil }
        self = .count(n)
    }

    func allows(_ printed: Int) -> Bool {
        switch self {
        case .all: return true
        case .count(let n): return printed < n
        }
    }
}

/// How to read CSV files, shared by every command that reads one.
struct ReadingOptions: ParsableArguments {
    @Option(help: "The CSV text encoding instead of detecting it: utf-8, utf-16le, utf-16be, windows-1251, windows-1252, iso-8859-1.")
    var encoding: String?

    @Option(help: "The CSV delimiter instead of detecting it: ',', ';', 'tab' or '|'.")
    var delimiter: String?

    func readOptions(displayName: String? = nil) throws -> ReadOptions {
        var options = ReadOptions(displayName: displayName)
        if let encoding {
            guard let chosen = TextEncoding(name: encoding) else {
                throw ValidationError("unknown encoding '\(encoding)'; use one of: \(TextEncoding.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            options.encoding = chosen
        }
        if let delimiter {
            guard let byte = Delimiter.parse(delimiter) else { throw ValidationError("the delimiter must be \(Delimiter.rule)") }
            options.delimiter = byte
        }
        return options
    }
}
