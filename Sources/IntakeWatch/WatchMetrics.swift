import CoreMetrics
import IntakeStore

/// What the watcher reports to swift-metrics (Prometheus through the executable's bootstrap; a
/// no-op where nothing is bootstrapped, as in most tests). The names and labels are listed in
/// the README; a name always carries the same label names, as Prometheus requires.
enum WatchMetrics {
    /// A file reached the end of its journal: counted by partner and outcome, its rows by status,
    /// and its duration and size into histograms (without the partner, to keep series few).
    static func fileDone(partner: String, record: ImportRecord?, outcome: JournalEntry.Outcome, seconds: Double, bytes: Int64) {
        // The import's status where there is one (completed, checked, rejected, duplicate);
        // `failed` for a file set aside without an import (lost, or too many attempts).
        let status = record?.status.rawValue ?? (outcome == .processed ? "completed" : "failed")
        Counter(label: "intake_files_total", dimensions: [("partner", partner), ("outcome", status)]).increment()
        if let record {
            for (name, count) in [("created", record.created), ("updated", record.updated), ("unchanged", record.unchanged),
                                  ("skipped", record.skipped), ("rejected", record.rejected)] where count > 0 {
                Counter(label: "intake_rows_total", dimensions: [("partner", partner), ("status", name)]).increment(by: count)
            }
        }
        Timer(label: "intake_import_duration_seconds").recordSeconds(seconds)
        Recorder(label: "intake_file_size_bytes", aggregate: true).record(bytes)
    }

    /// A try at a file failed inside the service (the disk, the database, the workbook) and will
    /// be retried: what an operator mends before the file is set aside (`--max-failures`).
    static func failedTry(partner: String) {
        Counter(label: "intake_file_failures_total", dimensions: [("partner", partner)]).increment()
    }

    /// An inbox entry refused before reading (a link, a pipe, a folder), by a short reason code.
    static func refused(partner: String, reason: String) {
        Counter(label: "intake_files_refused_total", dimensions: [("partner", partner), ("reason", Inbox.refusalCode(reason))]).increment()
    }
}

extension Inbox {
    /// A label for one of ``refusal(for:)``'s sentences.
    static func refusalCode(_ reason: String) -> String {
        switch reason {
        case refusal(for: .regular(links: 2)): "hard_link"
        case refusal(for: .symbolicLink): "symbolic_link"
        case refusal(for: .directory): "folder"
        case refusal(for: .fifo): "named_pipe"
        case refusal(for: .other): "not_a_regular_file"
        default: "other"
        }
    }
}
