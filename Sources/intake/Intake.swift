import ArgumentParser
import IntakeSystem
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// The `intake` command line: it parses arguments and wires the libraries, nothing more.
struct Intake: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "File-drop ingestion of partner customer lists (CSV, XLSX) into SQLite.",
        version: IntakeVersion.string,
        subcommands: [Watch.self, Import.self, Export.self, Imports.self, Show.self, History.self, Undo.self, Preview.self, Token.self, User.self, Nodes.self]
    )
}

@main
enum Main {
    static func main() async {
        // Benchmarks and memory tests ask the process for its own peak memory, because a parent's
        // rusage can be polluted by the parent's address space (see the tests' ChildProcess).
        if getenv("INTAKE_REPORT_PEAK_MEMORY") != nil {
            atexit(reportPeakMemory)
        }
        // Logs go to stderr (journald under systemd); each command sets its own level.
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        await Intake.main()
    }
}

/// Runs at exit on whichever thread calls `exit`, so it must not be isolated to the main actor.
private func reportPeakMemory() {
    PeakMemory.report()
}
