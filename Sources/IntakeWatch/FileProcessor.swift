import CIntakeLinux
import IntakeImport
import IntakeRead
import IntakeStore
import IntakeSystem
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// Takes a settled upload through claim → import → result → archive, recording each step in the
/// journal so that any step can be repeated after a crash. Runs on the ``BlockingWorker``.
///
/// Not `Sendable`: it owns a database connection, used by the worker thread only.
final class FileProcessor {
    let configuration: WatchConfiguration
    let database: Database
    let journal: Journal
    let importer: Importer
    let logger: Logger
    /// Monotonic seconds, injected so tests and timeouts share one clock.
    let monotonic: @Sendable () -> Double
    /// True once a graceful shutdown began.
    let shuttingDown: @Sendable () -> Bool
    let settings: SettingsBox
    private var claimCounter = 0

    init(configuration: WatchConfiguration, settings: SettingsBox, logger: Logger, monotonic: @escaping @Sendable () -> Double, shuttingDown: @escaping @Sendable () -> Bool) throws {
        self.settings = settings
        self.configuration = configuration
        let root = configuration.root
        for folder in [root.state, root.partners, configuration.processing, configuration.results, configuration.archive, configuration.refused] {
            try FileSystem.createDirectories(folder, mode: folder == root.partners ? 0o755 : 0o750)
        }
        database = try Database(path: root.database)
        journal = Journal(database: database)
        importer = Importer(database: database, logger: logger)
        self.logger = logger
        self.monotonic = monotonic
        self.shuttingDown = shuttingDown
    }

    // MARK: Partners and inboxes

    /// Partners: folders under `partners/` with a valid name and an `inbox/`.
    func partners() -> [String] {
        ((try? FileSystem.contents(of: configuration.root.partners)) ?? []).filter {
            PartnerName.isValid($0) && FileSystem.isDirectory(configuration.root.inbox($0))
        }
    }

    /// The names in a partner's inbox (or its `check/` folder) that are not temporary upload names.
    func inboxEntries(_ partner: String, check: Bool = false) -> [String] {
        let folder = configuration.root.inbox(partner) + (check ? "/check" : "")
        return ((try? FileSystem.contents(of: folder)) ?? []).filter { !UploadNames.isTemporary($0) && !(!check && $0 == "check") }
    }

    // MARK: Claiming

    enum ReadyOutcome: Sendable {
        case processed
        /// An XLSX whose zip is not complete yet; ask again later.
        case incomplete
        /// Some process still has the file open for writing; wait for its close.
        case busy
        /// Gone, or not ours to take (a temporary name, the check folder).
        case skipped
    }

    /// Handles a settled candidate: refuse it, wait for it, or claim and process it.
    func handleReady(partner: String, name: String, check: Bool = false, incompleteSince: Double?) -> ReadyOutcome {
        let path = configuration.root.inbox(partner) + (check ? "/check/" : "/") + name
        if UploadNames.isTemporary(name) || (!check && name == "check") { return .skipped }
        if let refusal = refusalReason(path) {
            refuse(partner: partner, name: name, path: path, reason: refusal)
            return .processed
        }
        if name.lowercased().hasSuffix(".xlsx") && !ZipTail.isComplete(path) {
            let waited = incompleteSince.map { monotonic() - $0 } ?? 0
            if waited < configuration.incompleteTimeoutSeconds { return .incomplete }
            logger.warning("XLSX never completed; importing it anyway so it fails with a clear message",
                           metadata: ["partner": "\(partner)", "file": "\(name)"])
        }
        switch claim(partner: partner, name: name, path: path, check: check) {
        case .claimed(let entry):
            drive(entry)
            return .processed
        case .busy:
            return .busy
        case .notClaimed:
            return .skipped
        }
    }

    enum ClaimResult {
        case claimed(JournalEntry)
        case busy
        case notClaimed
    }

    /// Why the thing at `path` must not be read: anything but a regular file with one link.
    func refusalReason(_ path: String) -> String? {
        var st = stat()
        guard lstat(path, &st) == 0 else { return nil }
        switch st.st_mode & S_IFMT {
        case S_IFREG: return st.st_nlink > 1 ? "hard links are not accepted; upload the file itself" : nil
        case S_IFLNK: return "symbolic links are not accepted; upload the file itself"
        case S_IFDIR: return "folders are not accepted in the inbox; upload files only"
        case S_IFIFO: return "named pipes are not accepted; upload a regular file"
        default: return "only regular files are accepted"
        }
    }

    /// Moves a refused entry (never following or reading it) out of the inbox and tells the partner.
    func refuse(partner: String, name: String, path: String, reason: String) {
        let target = "\(configuration.refused)/\(partner)/\(UTC.nowEpochSeconds())-\(nextToken())-\(name)"
        do {
            try FileSystem.createDirectories(FileSystem.parent(of: target), mode: 0o750)
            try FileSystem.rename(path, to: target)
        } catch {
            logger.error("cannot move a refused entry out of the inbox", metadata: ["partner": "\(partner)", "file": "\(name)", "error": "\(error)"])
            return
        }
        do {
            try FileSystem.createDirectories(configuration.root.outbox(partner))
            _ = try importer.refuse(ImportRequest(path: target, fileName: name, partner: partner, outbox: configuration.root.outbox(partner)), reason: reason)
        } catch {
            logger.error("cannot record a refused entry", metadata: ["partner": "\(partner)", "file": "\(name)", "error": "\(error)"])
        }
    }

    private func nextToken() -> String {
        claimCounter += 1
        return "\(getpid())-\(claimCounter)"
    }

    /// Moves the upload into the processing area (the partner can no longer change what is read)
    /// and records it in the journal.
    func claim(partner: String, name: String, path: String, check: Bool = false) -> ClaimResult {
        // O_NOFOLLOW: a symlink swapped in since the check fails here instead of being followed;
        // O_NONBLOCK: a FIFO swapped in cannot block the daemon.
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ELOOP { refuse(partner: partner, name: name, path: path, reason: "symbolic links are not accepted; upload the file itself") }
            return .notClaimed
        }
        let file = FileDescriptor(adopting: fd, path: path)
        guard let st = try? file.status(), st.st_mode & S_IFMT == S_IFREG, st.st_nlink == 1 else {
            refuse(partner: partner, name: name, path: path, reason: refusalReason(path) ?? "only regular files are accepted")
            return .notClaimed
        }
        // A read lease is granted only when nobody has the file open for writing: an upload that
        // paused longer than the settle time is not mistaken for a finished one. Held through the
        // rename, so a writer cannot open it meanwhile. Without the right to take leases (not the
        // owner, no CAP_LEASE) the settle time alone decides.
        if intake_try_read_lease(fd) != 0 {
            if errno == EAGAIN { return .busy }
        }
        defer { _ = intake_release_lease(fd) }
        // The name says whether it is a check, so a file adopted after a crash stays one.
        let processing = "\(configuration.processing)/\(partner)/\(UTC.nowEpochSeconds())-\(nextToken())\(check ? "--check" : "")--\(name)"
        do {
            try FileSystem.createDirectories(FileSystem.parent(of: processing), mode: 0o750)
            try FileSystem.rename(path, to: processing)
            // Flush the upload itself: the partner's client may never have.
            try file.sync()
            let id = try journal.claimed(partner: partner, fileName: name, processingPath: processing, dryRun: check, now: UTC.now())
            logger.info("claimed", metadata: ["partner": "\(partner)", "file": "\(name)", "size": "\(st.st_size)", "journal": "\(id)"])
            return try journal.entry(id).map(ClaimResult.claimed) ?? .notClaimed
        } catch {
            logger.error("cannot claim the file", metadata: ["partner": "\(partner)", "file": "\(name)", "error": "\(error)"])
            return .notClaimed
        }
    }

    // MARK: Driving a journal entry to the end

    /// Takes `entry` from its current step to `archived`, unless a shutdown stops it first.
    func drive(_ entry: JournalEntry) {
        var entry = entry
        let started = monotonic()
        while entry.step != .archived {
            do {
                switch entry.step {
                case .claimed:
                    guard try importClaimed(entry) else { return }
                case .imported:
                    try ensureResult(entry)
                    try journal.advance(entry.id, to: .resultWritten, now: UTC.now())
                case .resultWritten:
                    let archived = try archive(entry)
                    try journal.advance(entry.id, to: .archived, archivePath: archived, now: UTC.now())
                case .archived:
                    break
                }
                guard let next = try journal.entry(entry.id) else { return }
                entry = next
            } catch {
                logger.error("file processing failed; it will be retried", metadata: [
                    "partner": "\(entry.partner)", "file": "\(entry.fileName)", "step": "\(entry.step.rawValue)", "error": "\(error)",
                ])
                return
            }
        }
        let record = entry.importID.flatMap { try? ImportLog(database: database).find($0) }
        logger.info("file done", metadata: [
            "partner": "\(entry.partner)", "file": "\(entry.fileName)", "size": "\(entry.size ?? 0)",
            "import": "\(entry.importID.map(String.init) ?? "-")", "status": "\(record?.status.rawValue ?? "?")",
            "rows": "\(record?.rowsRead ?? 0)", "created": "\(record?.created ?? 0)", "updated": "\(record?.updated ?? 0)",
            "unchanged": "\(record?.unchanged ?? 0)", "rejected": "\(record?.rejected ?? 0)",
            "seconds": "\(twoDecimals(monotonic() - started))",
        ])
    }

    /// Runs the import of a claimed file. Returns false when it was abandoned (shutdown) or must
    /// wait for a later pass (the service failed).
    private func importClaimed(_ entry: JournalEntry) throws -> Bool {
        let outbox = configuration.root.outbox(entry.partner)
        try FileSystem.createDirectories(outbox)
        let partnerSettings = settings.value.forPartner(entry.partner)
        let (policy, readOptions): (ImportPolicy, ReadOptions)
        do { (policy, readOptions) = try partnerSettings.policy() } catch {
            logger.error("the partner's settings are unusable; using the defaults", metadata: ["partner": "\(entry.partner)", "error": "\(error)"])
            (policy, readOptions) = (ImportPolicy(), ReadOptions())
        }
        var request = ImportRequest(path: entry.processingPath, fileName: entry.fileName, partner: entry.partner, outbox: outbox, readOptions: readOptions)
        request.policy = policy
        request.policy.dryRun = entry.dryRun
        request.resultScratchPath = "\(configuration.results)/\(entry.id).xlsx"
        request.rejectDuplicateContent = true
        let journal = self.journal
        let hooks = ImportHooks(inTransaction: { record in
            let outcome = [.completed, .duplicate, .checked].contains(record.status) ? "processed" : "failed"
            try journal.imported(entry.id, importID: record.id, sha256: record.sha256, size: record.size, outcome: outcome, now: UTC.now())
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
        let attempt = try journal.beginAttempt(entry.id, now: UTC.now())
        if attempt > configuration.maxAttempts {
            _ = try importer.refuse(request, reason: "importing this file crashed or timed out \(configuration.maxAttempts) times; it was set aside, please check it or contact support", hooks: hooks)
            return true
        }
        let started = monotonic()
        let timeout = configuration.importTimeoutSeconds
        var timed = hooks
        timed.shouldStop = { [monotonic, shuttingDown] in
            if shuttingDown() { return "shutdown" }
            if monotonic() - started > timeout { return "timeout" }
            return nil
        }
        do {
            _ = try importer.run(request, hooks: timed)
            pruneUndoData(entry.partner, days: partnerSettings.undoRetentionDays)
            return true
        } catch .stopped("shutdown") {
            try journal.abandonAttempt(entry.id, now: UTC.now())
            logger.notice("import abandoned for shutdown; it resumes at the next start", metadata: ["partner": "\(entry.partner)", "file": "\(entry.fileName)"])
            return false
        } catch .stopped(let reason) {
            logger.warning("import stopped", metadata: ["partner": "\(entry.partner)", "file": "\(entry.fileName)", "reason": "\(reason)", "attempt": "\(attempt)"])
            return try importClaimed(entry)
        }
    }

    /// Puts the result workbook in the outbox: moved from the scratch path where the import left
    /// it, or (if a crash lost it) rebuilt from the `imports` row.
    private func ensureResult(_ entry: JournalEntry) throws {
        guard let importID = entry.importID, let record = try ImportLog(database: database).find(importID) else { return }
        let outbox = configuration.root.outbox(entry.partner)
        let finalPath = record.resultPath ?? Importer.resultPath(outbox: outbox, fileName: entry.fileName, importID: importID)
        let scratch = "\(configuration.results)/\(entry.id).xlsx"
        if FileSystem.exists(finalPath) {
            try? FileSystem.removeFile(scratch)
            return
        }
        try FileSystem.createDirectories(outbox)
        if FileSystem.exists(scratch) {
            try FileSystem.rename(scratch, to: finalPath)
            return
        }
        let request = ImportRequest(path: entry.processingPath, fileName: entry.fileName, partner: entry.partner, outbox: outbox)
        try Importer.writeSummaryOnly(request: request, record: record, to: finalPath,
                                      note: record.status == .completed ? "this result was rebuilt after a restart; per-row details are not available" : nil)
    }

    /// Moves the source file into `archive/<partner>/<processed|failed>/`.
    private func archive(_ entry: JournalEntry) throws -> String {
        let folder = "\(configuration.archive)/\(entry.partner)/\(entry.outcome ?? "failed")"
        let target = "\(folder)/\(entry.importID.map(String.init) ?? "x")-\(FileSystem.baseName(of: entry.processingPath))"
        if FileSystem.exists(entry.processingPath) {
            try FileSystem.createDirectories(folder, mode: 0o750)
            try FileSystem.rename(entry.processingPath, to: target)
        }
        return target
    }

    /// Drops undo data older than the partner's retention time.
    private func pruneUndoData(_ partner: String, days: Int) {
        let cutoff = UTC.format(UTC.nowEpochSeconds() - days * 86_400)
        do {
            let expired = try ImportHistory(database: database).prune(partner: partner, finishedBefore: cutoff, now: UTC.now())
            if expired > 0 { logger.info("undo data pruned", metadata: ["partner": "\(partner)", "imports": "\(expired)", "before": "\(cutoff)"]) }
        } catch {
            logger.error("pruning undo data failed", metadata: ["partner": "\(partner)", "error": "\(error)"])
        }
    }

    // MARK: Restart

    /// Adopts files left in the processing area without a journal entry (a crash between the
    /// rename and the journal insert), then drives every unfinished entry to the end.
    func resume() {
        for partner in (try? FileSystem.contents(of: configuration.processing)) ?? [] {
            for file in (try? FileSystem.contents(of: "\(configuration.processing)/\(partner)")) ?? [] {
                let path = "\(configuration.processing)/\(partner)/\(file)"
                guard (try? journal.knows(processingPath: path)) == false else { continue }
                var name = file.firstRange(of: "--").map { String(file[$0.upperBound...]) } ?? file
                let check = name.hasPrefix("check--")
                if check { name.removeFirst("check--".count) }
                _ = try? journal.claimed(partner: partner, fileName: name, processingPath: path, dryRun: check, now: UTC.now())
                logger.notice("adopted a claimed file found at start", metadata: ["partner": "\(partner)", "file": "\(name)"])
            }
        }
        for entry in (try? journal.unfinished()) ?? [] {
            if shuttingDown() { return }
            logger.notice("resuming", metadata: ["partner": "\(entry.partner)", "file": "\(entry.fileName)", "step": "\(entry.step.rawValue)"])
            drive(entry)
        }
    }
}

/// Whether a zip file has its end-of-central-directory record yet: an upload still in progress
/// (or cut off) does not.
enum ZipTail {
    static func isComplete(_ path: String) -> Bool {
        guard let file = try? FileDescriptor(opening: path, flags: O_RDONLY | O_NOFOLLOW | O_NONBLOCK),
              let st = try? file.status() else { return false }
        let size = Int(st.st_size)
        // The record is 22 bytes plus a comment of at most 65,535 bytes, at the very end.
        let tail = min(size, 22 + 65_535)
        guard tail >= 22 else { return false }
        let buffer = ChunkBuffer(count: tail)
        let n = pread(file.rawValue, buffer.raw.baseAddress, tail, off_t(size - tail))
        guard n == tail else { return false }
        let bytes = buffer.prefix(tail)
        var i = tail - 22
        while i >= 0 {
            if bytes[i] == 0x50 && bytes[i + 1] == 0x4B && bytes[i + 2] == 0x05 && bytes[i + 3] == 0x06 { return true }
            i -= 1
        }
        return false
    }
}

/// A number with two decimals, for log lines.
func twoDecimals(_ value: Double) -> String {
    let hundredths = Int((value * 100).rounded())
    let fraction = hundredths % 100
    return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
}
