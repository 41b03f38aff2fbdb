import IntakeReport
import IntakeStore
import IntakeSystem

/// The result workbooks an import writes besides the streamed one: a rejected file's (the Summary
/// alone), and the name every result gets.
extension Importer {
    /// Records a rejected file and writes a result workbook that says why.
    func rejectFile(_ request: ImportRequest, record: inout ImportRecord, reason: String,
                    status: ImportRecord.Status = .rejected, hooks: ImportHooks) throws(ImportFailure) -> ImportOutcome {
        record.status = status
        record.error = reason
        record.rowsRead = 0
        record.created = 0; record.updated = 0; record.unchanged = 0; record.rejected = 0; record.skipped = 0
        var finalPath = ""
        do {
            try store.transaction(commit: true) {
                record.finishedAt = now()
                if record.id == 0 { record.id = try store.insertImport(record) }
                finalPath = Self.resultPath(outbox: request.outbox, fileName: request.fileName, importID: record.id)
                record.resultPath = finalPath
                try store.updateImport(record)
                try hooks.inTransaction?(record)
            }
        } catch {
            throw ImportFailure(error)
        }
        try Self.writeSummaryOnly(request: request, record: record, to: finalPath)
        return ImportOutcome(record: record, resultPath: finalPath)
    }

    /// Writes a workbook with only its Summary (a rejected file, or a result rebuilt after a crash
    /// lost the original) straight into `finalPath`, atomically.
    public static func writeSummaryOnly(request: ImportRequest, record: ImportRecord, to finalPath: String, note: String? = nil) throws(ImportFailure) {
        let scratch = FileSystem.temporarySibling(of: finalPath)
        do {
            let workbook = try ResultWorkbook(path: scratch, sourceHeader: [])
            var summary = summary(request, record)
            summary.note = note
            summary.counts = record.countsByStatus
            try workbook.finish(summary)
        } catch {
            throw .report(error)
        }
        do {
            try FileDescriptor(opening: scratch).sync()
            try FileSystem.rename(scratch, to: finalPath)
        } catch { throw .system(error) }
    }

    static func summary(_ request: ImportRequest, _ record: ImportRecord) -> ImportSummary {
        var summary = ImportSummary(sourceFile: request.fileName, partner: request.partner, receivedAt: record.startedAt, finishedAt: record.finishedAt ?? "")
        summary.importID = record.id
        summary.format = record.format
        summary.encoding = record.encoding
        summary.delimiter = record.delimiter
        summary.sheet = record.sheet
        summary.rowsRead = record.rowsRead
        summary.fileError = record.status == .completed || record.status == .checked ? nil : record.error
        return summary
    }

    /// `customers-2024-05.xlsx` → `<outbox>/customers-2024-05.import-42.result.xlsx`. A long
    /// name's stem is shortened (between characters) so that the result's name, and the
    /// temporary name it is written under first, fit in a file system's 255 bytes; the import
    /// id and the extension always stay.
    public static func resultPath(outbox: String, fileName: String, importID: Int64) -> String {
        var stem = FileSystem.baseName(of: fileName)
        if let dot = stem.lastIndex(of: "."), dot != stem.startIndex { stem = String(stem[..<dot]) }
        let suffix = ".import-\(importID).result.xlsx"
        // FileSystem.temporarySibling adds a dot before and `.<pid>.tmp` after: 20 bytes at most.
        let room = FileSystem.maxNameBytes - 20 - suffix.utf8.count
        // A shortened stem ends in "…" (3 bytes), so the partner sees it was cut.
        let shown = stem.utf8.count <= room ? stem : FileSystem.prefix(of: stem, maxBytes: room - 3) + "…"
        return "\(outbox)/\(shown)\(suffix)"
    }
}
