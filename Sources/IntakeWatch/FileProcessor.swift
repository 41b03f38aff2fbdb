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
}
