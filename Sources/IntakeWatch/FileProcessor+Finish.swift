import IntakeImport
import IntakeStore
import IntakeSystem

/// The steps after the import: the result into the outbox, the source into the archive, undo
/// data past its retention pruned.
extension FileProcessor {
    /// Puts the result workbook in the outbox: moved from the scratch path where the import left
    /// it, or (if a crash lost it) rebuilt from the `imports` row.
    func ensureResult(_ entry: JournalEntry) throws {
        guard let importID = entry.importID, let record = try store.findImport(importID) else { return }
        let outbox = root.outbox(entry.partner)
        let finalPath = record.resultPath ?? Importer.resultPath(outbox: outbox, fileName: entry.fileName, importID: importID)
        let scratch = root.scratchResult(journalEntry: entry.id)
        if FileSystem.exists(finalPath) {
            try? FileSystem.removeFile(scratch)
            return
        }
        try FileSystem.createDirectories(outbox)
        // Only an import that stored its rows (or checked them) leaves its workbook at the scratch
        // path; a file refused, rejected whole or found a duplicate gets a summary written in
        // place. A scratch workbook beside such a record is an earlier attempt's, whose rows were
        // rolled back, and must not be published.
        if FileSystem.exists(scratch) {
            if record.status == .completed || record.status == .checked {
                try FileSystem.rename(scratch, to: finalPath)
                return
            }
            try FileSystem.removeFile(scratch)
        }
        let request = ImportRequest(path: entry.processingPath, fileName: entry.fileName, partner: entry.partner, outbox: outbox)
        try Importer.writeSummaryOnly(request: request, record: record, to: finalPath,
                                      note: record.status == .completed ? "this result was rebuilt after a restart; per-row details are not available" : nil)
    }

    /// Moves the source file into `archive/<partner>/<processed|failed>/`.
    func archive(_ entry: JournalEntry) throws -> String {
        let outcome = entry.outcome ?? .failed
        let folder = root.archive(entry.partner, outcome: outcome)
        let target = root.archiveFile(entry.partner, outcome: outcome, "\(entry.importID.map(String.init) ?? "x")-\(FileSystem.baseName(of: entry.processingPath))")
        if FileSystem.exists(entry.processingPath) {
            try FileSystem.createDirectories(folder, mode: 0o750)
            try FileSystem.rename(entry.processingPath, to: target)
        }
        return target
    }

    /// Drops undo data older than the partner's retention time.
    func pruneUndoData(_ partner: String, days: Int) {
        let cutoff = UTC.format(Int(clock.wallSeconds()) - days * 86_400)
        do {
            let expired = try store.pruneUndo(partner: partner, finishedBefore: cutoff, now: clock.utcNow())
            if expired > 0 { logger.info("undo data pruned", metadata: ["partner": "\(partner)", "imports": "\(expired)", "before": "\(cutoff)"]) }
        } catch {
            logger.error("pruning undo data failed", metadata: ["partner": "\(partner)", "error": "\(error)"])
        }
    }
}
