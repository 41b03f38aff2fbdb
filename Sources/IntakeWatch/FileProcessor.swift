import IntakeImport
import IntakeRead
import IntakeStore
import IntakeSystem
import Logging

/// Takes a settled upload through claim → import → result → archive, recording each step in the
/// journal so that any step can be repeated after a crash (see ``JournalEntry``). Crash recovery
/// is in `FileProcessor+Resume.swift`; the inbox side of a claim is ``Inbox``.
///
/// Not `Sendable`: it owns the stores' connections, used by the ``BlockingThreads`` thread only.
final class FileProcessor {
    let configuration: WatchConfiguration
    let inbox: Inbox
    let store: any ImportStore
    let journal: any JournalStore
    let importer: Importer
    let logger: Logger
    let clock: any TimeSource
    /// True once a graceful shutdown began.
    let shuttingDown: @Sendable () -> Bool
    let settings: SettingsBox
    /// Entries whose last try failed, with the monotonic time of their next one.
    var retries: [Int64: Double] = [:]
    /// Whether ``resume()`` ran once already: the done markers claims left behind are looked for
    /// only then, before this process claimed anything.
    var resumedOnce = false

    var root: DataRoot { configuration.root }

    /// - Parameter afterMove: called with the processing path right after each claim's move (tests
    ///   race a new upload or a writer against the claim there; see ``Inbox``).
    init(configuration: WatchConfiguration, settings: SettingsBox, logger: Logger, clock: any TimeSource, shuttingDown: @escaping @Sendable () -> Bool,
         afterMove: @escaping @Sendable (String) -> Void = { _ in }) throws {
        self.settings = settings
        self.configuration = configuration
        let root = configuration.root
        for folder in [root.state, root.partners, root.processing, root.results, root.archive, root.refused] {
            try FileSystem.createDirectories(folder, mode: folder == root.partners ? 0o755 : 0o750)
        }
        inbox = Inbox(root: root, clock: clock, afterMove: afterMove)
        if let open = configuration.openStores {
            let stores = try open()
            store = stores.imports
            journal = stores.journal
        } else {
            let database = try Database(path: root.database)
            store = SQLiteImportStore(database: database)
            journal = Journal(database: database)
        }
        importer = Importer(store: store, logger: logger, clock: clock)
        self.logger = logger
        self.clock = clock
        self.shuttingDown = shuttingDown
    }

    // MARK: Settled uploads

    /// What became of a settled candidate.
    enum ReadyOutcome: Sendable, Equatable {
        /// Imported, or refused with a result workbook that says why.
        case processed
        /// An XLSX whose zip is not complete yet; ask again later.
        case incomplete
        /// Some process still has the file open for writing; wait for its close.
        case busy
        /// The partner's settings cannot be applied: the file stays in the inbox until they are
        /// fixed (a settings reload rescans every inbox).
        case waitingForSettings
        /// The partner uses done markers and this file's has not come yet: its arrival brings
        /// the file back (or the marker waits for the file, if it came first).
        case waitingForMarker
        /// Gone, or not ours to take (a temporary name, the check folder).
        case skipped
        /// Another node has the partner's turn (nodes sharing the journal); ask again later.
        case otherNodesTurn
        /// The file could not be reserved or moved (the disk, the database, permissions; logged):
        /// it is still in the inbox, and no event will bring it back, so ask again later.
        case claimFailed
    }

    /// Handles a settled candidate: refuse it, wait for it, or claim and process it.
    /// With `drive` false (a node taking a partner's turn) the claimed file is only recorded;
    /// the caller drives the partner's files after claiming the rest.
    func handleReady(partner: String, name: String, check: Bool = false, incompleteSince: Double?, drive driveNow: Bool = true) -> ReadyOutcome {
        guard inbox.isCandidate(name, partner: partner, check: check) else { return .skipped }
        // Nothing behind a link in `check`'s place is looked at, refused or moved.
        if check && !inbox.hasCheckFolder(partner) { return .skipped }
        let path = root.inboxFile(partner, name, check: check)
        if let refusal = inbox.refusal(at: path) {
            refuse(partner: partner, name: name, path: path, reason: refusal)
            return .processed
        }
        guard policy(for: partner) != nil else {
            logger.error("the file waits in the inbox until the partner's settings are fixed (a reload rescans)",
                         metadata: ["partner": "\(partner)", "file": "\(name)"])
            return .waitingForSettings
        }
        var marker: String?
        switch doneMarker(partner: partner, name: name, check: check) {
        case .notUsed: break
        case .present(let path): marker = path
        case .missing: return .waitingForMarker
        case .isMarker(let data): return handleReady(partner: partner, name: data, check: check, incompleteSince: incompleteSince, drive: driveNow)
        }
        if name.lowercased().hasSuffix(".xlsx") && !ZipTail.isComplete(path) {
            let waited = incompleteSince.map { clock.monotonicSeconds() - $0 } ?? 0
            if waited < configuration.incompleteTimeoutSeconds { return .incomplete }
            logger.warning("XLSX never completed; importing it anyway so it fails with a clear message",
                           metadata: ["partner": "\(partner)", "file": "\(name)"])
        }
        // Nodes sharing the data root reserve the file first; the one that gets it moves it.
        let reservation = journal.sharedByNodes ? FileSystem.linkStatus(path).map { Int64(bitPattern: UInt64($0.st_ino)) } : nil
        if let inode = reservation {
            do {
                guard try journal.reserve(partner: partner, fileName: name, check: check, inode: inode) else { return .skipped }
            } catch {
                logger.error("cannot reserve the file", metadata: ["partner": "\(partner)", "file": "\(name)", "error": "\(error)"])
                return .claimFailed
            }
        }
        let claim: Inbox.Claim
        do { claim = try inbox.claim(partner: partner, name: name, check: check, keepName: marker != nil) } catch {
            logger.error("cannot claim the file; it is tried again, less often each time", metadata: ["partner": "\(partner)", "file": "\(name)", "error": "\(error)"])
            releaseReservation(partner: partner, name: name, check: check, inode: reservation)
            return .claimFailed
        }
        if case .claimed = claim {} else { releaseReservation(partner: partner, name: name, check: check, inode: reservation) }
        switch claim {
        case .claimed(let processingName, let processingPath, let size, let inode):
            let id: Int64
            do {
                id = try journal.claimed(partner: partner, fileName: name, processingPath: processingPath, dryRun: processingName.check, inode: inode, now: clock.utcNow())
            } catch {
                logger.error("cannot record the claim; the file goes back to the inbox", metadata: ["partner": "\(partner)", "file": "\(name)", "error": "\(error)"])
                // Moved back before the reservation ends, so no other node adopts it meanwhile.
                returnUnrecorded(processingPath, to: path, partner: partner, name: name, check: check, token: processingName.token, keepName: marker != nil)
                releaseReservation(partner: partner, name: name, check: check, inode: reservation)
                return .skipped
            }
            logger.info("claimed", metadata: ["partner": "\(partner)", "file": "\(name)", "size": "\(size)", "journal": "\(id)"])
            let entry = try? journal.entry(id)
            // Recorded, but not read back: the retry drives it.
            if entry == nil { retries[id] = clock.monotonicSeconds() + configuration.retryBaseSeconds }
            if let marker { archiveMarker(marker, partner: partner, token: processingName.token) }
            if driveNow, let entry { drive(entry) }
            return .processed
        case .busy:
            return .busy
        case .refused(let reason):
            refuse(partner: partner, name: name, path: path, reason: reason)
            return .processed
        case .gone:
            return .skipped
        }
    }

    /// Puts a claimed file whose claim could not be recorded back in the inbox, under its name or
    /// `name (2).csv` when a new upload took that meanwhile and the partner has no done markers
    /// (see ``Inbox/giveBack(_:to:keepName:)``), where its move brings it to the watcher again,
    /// rather than leaving it unrecorded in the processing area. Not when the journal has an entry
    /// for it after all (a commit whose answer was lost; this node's own reservation does not
    /// count) or cannot say, nor when it cannot be moved: then a later `resume()` (the next
    /// start, rescan or settings reload, or another node's rescan) adopts it there.
    ///
    /// A file that stays takes its done marker out of the inbox, so that the next upload of its
    /// name waits for its own (see ``archiveMarkerLeft(partner:fileName:check:claimedAt:token:)``).
    private func returnUnrecorded(_ processingPath: String, to path: String, partner: String, name: String, check: Bool, token: String, keepName: Bool) {
        if (try? journal.knows(processingPath: processingPath, partner: partner, inode: nil)) == false {
            do {
                let given = try Inbox.giveBack(processingPath, to: path, keepName: keepName)
                if let given, given != name {
                    logger.warning("a new upload took the file's name; it goes back beside it", metadata: ["partner": "\(partner)", "file": "\(name)", "name": "\(given)"])
                }
                return
            } catch {
                logger.error("the file stays in the processing area until a resume adopts it",
                             metadata: ["partner": "\(partner)", "file": "\(name)", "path": "\(processingPath)", "error": "\(error)"])
            }
        }
        archiveMarkerLeft(partner: partner, fileName: name, check: check, claimedAt: processingPath, token: token)
    }

    /// The partner's import policy and read options; nil (logged) when its settings cannot be
    /// applied. The service never guesses a partner's mode: such a file waits.
    func policy(for partner: String) -> (ImportPolicy, ReadOptions)? {
        do { return try settings.value.forPartner(partner).policy() } catch {
            logger.error("the partner's settings cannot be applied", metadata: ["partner": "\(partner)", "error": "\(error)"])
            return nil
        }
    }

    /// Moves a refused entry (never following or reading it) out of the inbox and tells the partner.
    func refuse(partner: String, name: String, path: String, reason: String) {
        let target: String
        do { target = try inbox.setAside(partner: partner, name: name, path: path) } catch {
            logger.error("cannot move a refused entry out of the inbox", metadata: ["partner": "\(partner)", "file": "\(name)", "error": "\(error)"])
            return
        }
        WatchMetrics.refused(partner: partner, reason: reason)
        do {
            try FileSystem.createDirectories(root.outbox(partner))
            _ = try importer.refuse(ImportRequest(path: target, fileName: name, partner: partner, outbox: root.outbox(partner)), reason: reason)
        } catch {
            logger.error("cannot record a refused entry", metadata: ["partner": "\(partner)", "file": "\(name)", "error": "\(error)"])
        }
    }

    // MARK: Driving a journal entry to the end

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
