import IntakeRead
import IntakeReport
import IntakeStore
import IntakeSystem
import IntakeValidate
import Logging

/// Imports one file: reads it as a stream, validates each row, upserts the good ones into the store
/// (SQLite or PostgreSQL, through ``ImportStore``) in one transaction, and writes the result
/// workbook into the partner's outbox.
///
/// A file is all or nothing in the database: its rows and its `imports` record commit together.
/// The workbook is written to a temporary name during the transaction and renamed into the outbox
/// only after the commit, so a partner never sees a result for changes that did not happen.
public final class Importer {
    public let store: any ImportStore
    private let logger: Logger
    private let clock: any TimeSource
    /// Called every ``progressInterval`` rows with the count so far (the CLI's progress line).
    public var progress: ((Int) -> Void)?
    /// Rows between two ``progress`` calls.
    static let progressInterval = 50_000
    /// Data rows per sheet of the result workbook (Excel's limit; lowered by tests).
    public var resultRowsPerSheet = ResultWorkbook.excelDataRowsPerSheet

    /// An importer writing through `store`; `clock` stamps the history and times `max_seconds`.
    public init(store: any ImportStore, logger: Logger, clock: any TimeSource = SystemTime()) {
        self.store = store
        self.logger = logger
        self.clock = clock
    }

    /// An importer writing into the SQLite database `database`.
    public convenience init(database: Database, logger: Logger, clock: any TimeSource = SystemTime()) {
        self.init(store: SQLiteImportStore(database: database), logger: logger, clock: clock)
    }

    func now() -> String { clock.utcNow() }

    /// Imports `request`; throws only when the service itself fails (disk full, database broken)
    /// or a hook asks it to stop.
    public func run(_ request: ImportRequest, hooks: ImportHooks = ImportHooks()) throws(ImportFailure) -> ImportOutcome {
        var logger = self.logger
        logger[metadataKey: "partner"] = "\(request.partner)"
        logger[metadataKey: "file"] = "\(request.fileName)"
        let digest: FileDigest
        do { digest = try FileDigest(path: request.path) } catch { throw .system(error) }
        var record = ImportRecord(partner: request.partner, fileName: request.fileName, sha256: digest.sha256, size: digest.size, startedAt: now())
        logger.info("import started", metadata: ["size": "\(digest.size)", "sha256": "\(digest.sha256)"])

        if let maxBytes = request.policy.maxBytes, digest.size > maxBytes {
            let reason = "\(request.fileName): the file is \(digest.size) bytes, over this partner's limit of \(maxBytes) bytes (max_bytes)"
            return try rejectFile(request, record: &record, reason: reason, hooks: hooks)
        }
        if request.rejectDuplicateContent && !request.policy.dryRun {
            let earlier: ImportRecord?
            do { earlier = try wrap { try store.completedImport(partner: request.partner, sha256: digest.sha256) } } catch { throw ImportFailure(error) }
            if let earlier {
                let reason = "the same content was already imported as import \(earlier.id) (\(earlier.fileName), finished \(earlier.finishedAt ?? "?") UTC); nothing was changed"
                let outcome = try rejectFile(request, record: &record, reason: reason, status: .duplicate, hooks: hooks)
                logger.notice("duplicate content", metadata: ["import": "\(outcome.importID)", "earlier": "\(earlier.id)"])
                return outcome
            }
        }

        do {
            let outcome = try importRows(request, record: &record, logger: logger, hooks: hooks)
            logger.info("import finished", metadata: [
                "import": "\(outcome.importID)", "rows": "\(record.rowsRead)", "created": "\(record.created)",
                "updated": "\(record.updated)", "unchanged": "\(record.unchanged)", "rejected": "\(record.rejected)",
                "unchanged_by_digest": "\(outcome.rowsMatchedByDigest)", "digests_in_memory": "\(outcome.digestsReadIntoMemory)",
            ])
            return outcome
        } catch let rejection as FileRejection {
            // A check's own history row was committed before its rolled-back transaction (see
            // importRows) and becomes the rejection; an import's row went with its rollback.
            if !request.policy.dryRun { record.id = 0 }
            let outcome = try rejectFile(request, record: &record, reason: rejection.message, hooks: hooks)
            logger.warning("file rejected", metadata: ["import": "\(outcome.importID)", "reason": "\(rejection.message)"])
            return outcome
        } catch {
            if request.policy.dryRun && record.id != 0 { try? store.removeUnfinishedImport(record.id) }
            if let failure = error as? ImportFailure { throw failure }
            throw .other("import failed: \(error)")
        }
    }

    /// Why a whole file is refused: it cannot be read, or its columns are wrong.
    struct FileRejection: Error { var message: String }

    /// Records a file refused before it is read (a symlink, an unsupported type) and writes a
    /// result workbook that says why.
    public func refuse(_ request: ImportRequest, reason: String, digest: FileDigest? = nil, hooks: ImportHooks = ImportHooks()) throws(ImportFailure) -> ImportOutcome {
        var record = ImportRecord(partner: request.partner, fileName: request.fileName, sha256: digest?.sha256 ?? "", size: digest?.size ?? 0, startedAt: now())
        let outcome = try rejectFile(request, record: &record, reason: "\(request.fileName): \(reason)", hooks: hooks)
        logger.warning("file refused", metadata: ["partner": "\(request.partner)", "file": "\(request.fileName)", "reason": "\(reason)", "import": "\(outcome.importID)"])
        return outcome
    }

    private func importRows(_ request: ImportRequest, record: inout ImportRecord, logger: Logger, hooks: ImportHooks) throws -> ImportOutcome {
        let table: Table
        let columns: ColumnMap
        do {
            var options = request.readOptions
            options.deadline = ReadDeadline(seconds: request.policy.maxSeconds, clock: clock)
            table = try Spreadsheet.open(request.path, options: options)
            columns = try ColumnMap(header: table.header.cells, aliases: request.policy.columnAliases)
        } catch let error as ReadError {
            throw FileRejection(message: error.description)
        } catch let error as ColumnError {
            throw FileRejection(message: "\(request.fileName): \(error.message)")
        }
        let info = table.info
        record.format = info.format.rawValue
        record.encoding = info.encoding
        record.delimiter = info.delimiter
        record.sheet = info.sheet

        let policy = request.policy
        let validator = policy.timestamps.map { rules in RowValidator(columns: columns, parseTimestamp: { raw throws(FieldError) in try rules.parse(raw) }) }
            ?? RowValidator(columns: columns)
        let started = clock.monotonicSeconds()
        var scratchPath = ""
        var finalPath = ""
        var cutOffRow: Int?
        var matchedByDigest = 0
        var digestsInMemory = false

        record.mode = policy.mode.rawValue
        if policy.dryRun {
            // A check keeps its history row, so it is inserted before the transaction that is
            // rolled back; the rows it would have written refer to it until then. It says
            // `running` until the check ends, and is removed if the check is stopped or fails.
            record.status = .running
            record.id = try wrap { try store.transaction(commit: true) { try store.insertImport(record) } }
        }
        do {
            try wrap {
                // A dry run's transaction is rolled back at its end, whatever it wrote.
                try store.transaction(commit: !policy.dryRun) {
                    if !policy.dryRun { record.id = try store.insertImport(record) }
                    finalPath = Self.resultPath(outbox: request.outbox, fileName: request.fileName, importID: record.id)
                    scratchPath = request.resultScratchPath ?? FileSystem.temporarySibling(of: finalPath)
                    let report = ResultWriter(try ResultWorkbook(path: scratchPath, sourceHeader: columns.header, rowsPerSheet: resultRowsPerSheet))
                    defer { report.abandon() }
                    let writer = try store.rowWriter(partner: request.partner, importID: record.id, mode: policy.mode, now: now())
                    // Reading and validating run ahead on two threads of their own (see RowPipeline), the
                    // workbook is written on a third (ResultWriter); this thread only stores.
                    // Rows sent again pass over validation by their digest (SQLite); the stored
                    // digests are read in a snapshot taken now, inside this transaction.
                    // The fast path is optional: without it (the second connection could not be
                    // opened) every row is validated and compared, as always.
                    let stored: StoredDigests?
                    do { stored = try store.storedDigests(partner: request.partner) } catch {
                        logger.warning("stored row digests cannot be read; every row is validated and compared", metadata: ["error": "\(error)"])
                        stored = nil
                    }
                    let matching = stored.map { stored in
                        RowMatching(digester: RowDigester(key: stored.key, columns: columns, policy: policy), stored: stored, mode: policy.mode)
                    }
                    let pipeline = RowPipeline(table: table, validator: validator, columns: columns, matching: matching)
                    defer { pipeline.cancel() }

                    /// Counts a row's verdict and lists it in the workbook (unchanged rows only when asked).
                    func settle(_ number: Int, _ externalID: String, _ verdict: RowVerdict, cells: [String]) {
                        let status = verdict.status
                        record.count(status)
                        if status != .unchanged || policy.listUnchangedRows {
                            report.add(ResultWriter.Line(number: number, externalID: externalID, status: status, message: verdict.message,
                                                         rejectedCells: status == .rejected ? cells : nil))
                        }
                        if status == .rejected {
                            logger.debug("row rejected", metadata: ["row": "\(number)", "reason": "\(verdict.message)"])
                        }
                    }

                    /// Stops the import when the caller asks (a shutdown) or it runs past `max_seconds`.
                    func checkpoint() throws {
                        if let reason = hooks.shouldStop?() { throw ImportFailure.stopped(reason) }
                        if clock.monotonicSeconds() - started > policy.maxSeconds {
                            throw FileRejection(message: "\(request.fileName): the import took longer than \(Int(policy.maxSeconds)) seconds, the limit max_seconds; nothing was imported")
                        }
                    }

                    while var prepared = try pipeline.next() {
                        record.rowsRead += 1
                        switch prepared.takeOutcome() {
                        case .sameAsStored(let externalID, let idHash):
                            matchedByDigest += 1
                            settle(prepared.row.number, prepared.externalID, RowVerdict(try writer.takeSameAsStored(externalID: externalID, idHash: idHash, row: prepared.row.number), externalID: externalID),
                                   cells: prepared.row.cells)
                            prepared.outcome = .sameAsStored(externalID: externalID, idHash: idHash)
                        case .invalid(let rejection):
                            if writer.defersVerdicts {
                                try writer.reject(row: prepared.row.number, externalID: prepared.externalID, message: rejection.message, cells: prepared.row.cells)
                            } else {
                                settle(prepared.row.number, prepared.externalID, RowVerdict(rejected: rejection.message), cells: prepared.row.cells)
                            }
                            if prepared.row.isCutOff {
                                let number = prepared.row.number
                                cutOffRow = number
                                logger.warning("\(SourceRow.cutOffNote)", metadata: ["row": "\(number)"])
                            }
                            prepared.outcome = .invalid(rejection)
                        case .valid(let customer):
                            if let result = try writer.take(customer, row: prepared.row.number, shownID: prepared.externalID, cells: prepared.row.cells) {
                                settle(prepared.row.number, prepared.externalID, RowVerdict(result, externalID: customer.externalID), cells: prepared.row.cells)
                            }
                            prepared.outcome = .valid(customer)
                        }
                        if let maxRows = policy.maxRows, record.rowsRead > maxRows {
                            throw FileRejection(message: "\(request.fileName): the file has more than \(maxRows) data rows, over this partner's limit (max_rows)")
                        }
                        if record.rowsRead % 4096 == 0 {
                            try checkpoint()
                            hooks.rowsSoFar?(record.rowsRead)
                        }
                        if let progress, record.rowsRead % Self.progressInterval == 0 { progress(record.rowsRead) }
                        pipeline.putBack(&prepared)
                    }
                    // The validating thread made its last lookup before it sent the end of the rows.
                    digestsInMemory = stored?.readsFromTable ?? false
                    if let failure = pipeline.digestLookupFailure {
                        logger.warning("stored row digests could not be read part way; the rows after were validated and compared", metadata: ["error": "\(failure)"])
                    }
                    try writer.finishRows(checkpoint: checkpoint) { deferred in
                        switch deferred.outcome {
                        case .stored(let result, let cells):
                            settle(deferred.row, deferred.externalID, RowVerdict(result, externalID: deferred.storedID), cells: cells)
                        case .rejected(let message, let cells):
                            settle(deferred.row, deferred.externalID, RowVerdict(rejected: message), cells: cells)
                        }
                    }
                    record.status = policy.dryRun ? .checked : .completed
                    record.finishedAt = now()
                    record.resultPath = finalPath
                    var summary = Self.summary(request, record)
                    summary.counts = record.countsByStatus
                    var notes: [String] = []
                    summary.checkOnly = policy.dryRun
                    if policy.dryRun { notes.append("check only: nothing was changed") }
                    if info.isResultWorkbook {
                        notes.append("read from the Rejected sheet of an Intake result workbook sent back; its error column is ignored")
                    }
                    if record.unchanged > 0 && !policy.listUnchangedRows {
                        notes.append("\(ResultWorkbook.grouped(record.unchanged)) unchanged row\(record.unchanged == 1 ? " is" : "s are") not listed (result_rows: all lists them)")
                    }
                    if let cutOffRow { notes.append("\(SourceRow.cutOffNote) (line \(cutOffRow) was rejected)") }
                    summary.note = notes.isEmpty ? nil : notes.joined(separator: "; ")
                    // While the workbook is compressed, the transaction's dirty pages go to the WAL
                    // and are synced now rather than in the commit, which then has little left to
                    // write and wait for. A dry run is rolled back: nothing to prepare.
                    try report.finish(summary, meanwhile: { if !policy.dryRun { try store.prepareCommit() } })
                    // The workbook must be on disk before the commit that says it exists.
                    try FileDescriptor(opening: scratchPath).sync()
                    if !policy.dryRun {
                        try store.updateImport(record)
                        try hooks.inTransaction?(record)
                    }
                }
                if policy.dryRun {
                    try store.transaction(commit: true) {
                        try store.updateImport(record)
                        try hooks.inTransaction?(record)
                    }
                }
            }
        } catch let error as ReadError {
            // The file broke part-way (a quote that never closes, a corrupt zip entry): nothing
            // of it was committed; the partner gets a rejection that says where.
            try? FileSystem.removeFile(scratchPath)
            throw FileRejection(message: error.description)
        } catch {
            try? FileSystem.removeFile(scratchPath)
            throw error
        }
        try wrap { try FileSystem.rename(scratchPath, to: finalPath) }
        var outcome = ImportOutcome(record: record, resultPath: finalPath)
        outcome.rowsMatchedByDigest = matchedByDigest
        outcome.digestsReadIntoMemory = digestsInMemory
        return outcome
    }

    /// Maps the typed errors of the lower layers onto ``ImportFailure``; ReadError passes through
    /// because it means the file is bad, not the service.
    private func wrap<T>(_ body: () throws -> T) throws -> T {
        do { return try body() }
        catch where error is SQLiteError || error is any StoreError || error is SystemError || error is ReportError { throw ImportFailure(error) }
    }
}

