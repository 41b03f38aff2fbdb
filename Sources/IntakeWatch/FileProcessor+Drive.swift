import IntakeImport
import IntakeStore
import IntakeSystem
import Logging

/// Driving a claimed file through its steps to the end: the import with its attempts and
/// timeout, then the result and the archive; a failure schedules a retry (see
/// `FileProcessor+Retry.swift`).
extension FileProcessor {
    /// Takes `entry` from its current step to `archived`, unless a shutdown stops it first or
    /// it must wait (the service failed, or the partner's settings cannot be applied).
    func drive(_ entry: JournalEntry) {
        var entry = entry
        let started = clock.monotonicSeconds()
        while entry.step != .archived {
            do {
                switch entry.step {
                case .claimed:
                    guard try importClaimed(entry) else { return }
                case .imported:
                    try ensureResult(entry)
                    try journal.advance(entry.id, to: .resultWritten, archivePath: nil, now: clock.utcNow())
                case .resultWritten:
                    let archived = try archive(entry)
                    try journal.advance(entry.id, to: .archived, archivePath: archived, now: clock.utcNow())
                case .archived:
                    break
                }
                guard let next = try journal.entry(entry.id) else { return }
                entry = next
            } catch {
                scheduleRetry(entry, after: error)
                return
            }
        }
        let record = entry.importID.flatMap { try? store.findImport($0) }
        logger.info("file done", metadata: [
            "partner": "\(entry.partner)", "file": "\(entry.fileName)", "size": "\(entry.size ?? 0)",
            "import": "\(entry.importID.map(String.init) ?? "-")", "status": "\(record?.status.rawValue ?? "?")",
            "rows": "\(record?.rowsRead ?? 0)", "created": "\(record?.created ?? 0)", "updated": "\(record?.updated ?? 0)",
            "unchanged": "\(record?.unchanged ?? 0)", "rejected": "\(record?.rejected ?? 0)",
            "seconds": "\(twoDecimals(clock.monotonicSeconds() - started))",
        ])
        WatchMetrics.fileDone(partner: entry.partner, record: record, outcome: entry.outcome ?? .failed,
                              seconds: clock.monotonicSeconds() - started, bytes: entry.size ?? 0)
    }

    /// Runs the import of a claimed file. Returns false when it was abandoned (shutdown) or must
    /// wait (the partner's settings cannot be applied; a reload resumes it).
    private func importClaimed(_ entry: JournalEntry) throws -> Bool {
        let outbox = root.outbox(entry.partner)
        try FileSystem.createDirectories(outbox)
        guard let (policy, readOptions) = policy(for: entry.partner) else {
            logger.error("a claimed file waits until the partner's settings are fixed (a reload resumes it)",
                         metadata: ["partner": "\(entry.partner)", "file": "\(entry.fileName)"])
            return false
        }
        var request = ImportRequest(path: entry.processingPath, fileName: entry.fileName, partner: entry.partner, outbox: outbox, readOptions: readOptions)
        request.policy = policy
        request.policy.dryRun = entry.dryRun
        request.resultScratchPath = root.scratchResult(journalEntry: entry.id)
        request.rejectDuplicateContent = true
        let (journal, clock) = (self.journal, self.clock)
        let hooks = ImportHooks(inTransaction: { record in
            let outcome: JournalEntry.Outcome = [.completed, .duplicate, .checked].contains(record.status) ? .processed : .failed
            try journal.imported(entry.id, importID: record.id, sha256: record.sha256, size: record.size, outcome: outcome, now: clock.utcNow())
        })

        if !FileSystem.exists(entry.processingPath) {
            logger.error("a claimed file is missing from the processing area; it is recorded as lost", metadata: ["file": "\(entry.processingPath)"])
            _ = try importer.refuse(request, reason: "the file was lost before it could be imported; please send it again", hooks: hooks)
            return true
        }
        if !UploadNames.isImportable(entry.fileName) {
            _ = try importer.refuse(request, reason: "only .csv and .xlsx files are imported", hooks: hooks)
            return true
        }
        // Crashes and timeouts count as attempts (a file that brings the service down must not
        // do so forever); failures the import reports count apart, against a higher limit.
        let attempt = try journal.beginAttempt(entry.id, now: clock.utcNow())
        if attempt > configuration.maxAttempts || entry.failures >= configuration.maxFailures {
            let why = entry.failures >= configuration.maxFailures
                ? "failed \(entry.failures) times (the last time: \(entry.lastError ?? "?"))"
                : "crashed or timed out \(configuration.maxAttempts) times"
            _ = try importer.refuse(request, reason: "importing this file \(why); it was set aside, please check it or contact support", hooks: hooks)
            return true
        }
        let started = clock.monotonicSeconds()
        let timeout = configuration.importTimeoutSeconds
        var timed = hooks
        timed.shouldStop = { [clock, shuttingDown] in
            if shuttingDown() { return .shutdown }
            if clock.monotonicSeconds() - started > timeout { return .timeout }
            return nil
        }
        timed.rowsSoFar = { rows in LiveProgress.shared.update(entry.id, partner: entry.partner, fileName: entry.fileName, rows: rows) }
        LiveProgress.shared.update(entry.id, partner: entry.partner, fileName: entry.fileName, rows: 0)
        defer { LiveProgress.shared.finish(entry.id) }
        let failure: ImportFailure
        do {
            _ = try importer.run(request, hooks: timed)
            pruneUndoData(entry.partner, days: settings.value.forPartner(entry.partner).undoRetentionDays)
            return true
        } catch {
            failure = error
        }
        // Not a crash: the retry records it as a failure and takes the attempt back.
        guard case .stopped(let reason) = failure else { throw FailedAttempt(failure) }
        switch reason {
        case .shutdown:
            try journal.abandonAttempt(entry.id, now: clock.utcNow())
            logger.notice("import abandoned for shutdown; it resumes at the next start", metadata: ["partner": "\(entry.partner)", "file": "\(entry.fileName)"])
            return false
        case .timeout:
            logger.warning("import stopped", metadata: ["partner": "\(entry.partner)", "file": "\(entry.fileName)", "reason": "\(reason.rawValue)", "attempt": "\(attempt)"])
            return try importClaimed(entry)
        }
    }
}

/// An import attempt that ended in a failure the import reported (not a crash or a timeout);
/// ``FileProcessor/scheduleRetry(_:after:)`` records it against the failures, not the attempts.
struct FailedAttempt: Error, CustomStringConvertible {
    let underlying: any Error
    init(_ underlying: any Error) { self.underlying = underlying }
    var description: String { "\(underlying)" }
}

/// A number with two decimals, for log lines.
func twoDecimals(_ value: Double) -> String {
    let hundredths = Int((value * 100).rounded())
    let fraction = hundredths % 100
    return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
}
