import ArgumentParser

/// The `intake` command line: it parses arguments and wires the libraries, nothing more.
@main
struct Intake: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "File-drop ingestion of partner customer lists (CSV, XLSX) into SQLite.",
        subcommands: [Preview.self]
    )
}
