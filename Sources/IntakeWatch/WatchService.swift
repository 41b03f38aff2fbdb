import IntakeImport
import IntakeSystem
import Logging
import ServiceLifecycle
import Synchronization
import UnixSignals

#if canImport(Glibc)
import Glibc
#endif

/// `intake watch`: the file-drop service.
///
/// One poll thread reads inotify (``Inotify``); this service's loop turns its signals into
/// candidates (``SettleTracker``) and hands settled ones, one at a time, to the
/// ``FileProcessor`` on a dedicated ``BlockingThreads`` thread. At start it sets its watches and
/// scans every inbox, so nothing that arrived while it was down (or while the watches were being
/// set) is missed, then resumes unfinished files from the journal before any new one is taken
/// (the worker runs jobs in order). An overflow of events, the kernel's or its own, triggers the
/// same scan; so does a settings reload, which also resumes entries that waited for it.
public final class WatchService: Service {
    private let configuration: WatchConfiguration
    let logger: Logger
    let clock: any TimeSource
    private let shutdown = Flag()
    /// Set by a settings reload; the loop then rescans every inbox and resumes waiting entries.
    private let settingsReloaded = Flag()
    private let observer: WatchObserver
    private let settings: SettingsBox

    /// - Parameters:
    ///   - clock: the time for settling, timeouts and the records; tests pass one they drive.
    ///   - observer: told when the watches are set and after each pass over settling files.
    /// - Throws: ``SettingsError`` when the settings file is invalid at start (there are no
    ///   earlier settings to keep, and guessing a partner's mode would be worse than not starting).
    public convenience init(configuration: WatchConfiguration, logger: Logger, clock: any TimeSource = SystemTime(),
                            observer: WatchObserver = WatchObserver()) throws(SettingsError) {
        let settings = try configuration.settingsPath.map { path throws(SettingsError) in try Settings.load(path: path) } ?? Settings()
        self.init(configuration: configuration, settings: SettingsBox(settings), logger: logger, clock: clock, observer: observer)
    }

    /// A service whose settings are `settings` (replaced in place by the caller, or on SIGHUP
    /// from the configuration's file).
    public init(configuration: WatchConfiguration, settings: SettingsBox, logger: Logger, clock: any TimeSource = SystemTime(),
                observer: WatchObserver = WatchObserver()) {
        self.settings = settings
        self.configuration = configuration
        self.logger = logger
        self.clock = clock
        self.observer = observer
    }

    /// Asks the running service to rescan every inbox and resume entries that waited, as after
    /// a settings reload (which calls it).
    public func settingsChanged() {
        settingsReloaded.set()
    }

    func makeProcessor(on worker: BlockingThreads) async throws -> Unchecked<FileProcessor> {
        let shutdown = self.shutdown
        return try await worker.run { [configuration, settings, logger, clock] in
            Unchecked(try FileProcessor(configuration: configuration, settings: settings, logger: logger, clock: clock, shuttingDown: { shutdown.isSet }))
        }
    }

    /// Seconds an upload of `partner` must stay unchanged: the partner's `settle_seconds`, else
    /// the service's. One rule for the running service and `--once`.
    func settleSeconds(_ partner: String) -> Double {
        settings.value.forPartner(partner).settleSeconds ?? configuration.settleSeconds
    }

    private enum Watched: Sendable { case partners, partnerFolder(String), inbox(String), check(String) }

    /// Watches the inboxes and imports each upload once it settles, until a graceful shutdown. SIGHUP
    /// reloads the settings file; an invalid one is logged and the previous settings stay in force.
    /// - Throws: ``SystemError`` when inotify or the state folders cannot be set up, ``SQLiteError``
    ///   when the database cannot be opened.
    public func run() async throws {
        let worker = BlockingThreads()
        defer { worker.shutdown() }
        let inotify = try Inotify()
        let shutdown = self.shutdown
        let processor = try await makeProcessor(on: worker)
        // SIGHUP reloads the settings; an invalid file is reported and the old settings stay.
        let reloader = Task { [configuration, settings, logger] in
            guard let path = configuration.settingsPath else { return }
            for await _ in await UnixSignalsSequence(trapping: .sighup) {
                do {
                    settings.replace(try Settings.load(path: path))
                    logger.notice("settings reloaded", metadata: ["path": "\(path)"])
                    self.settingsChanged()
                } catch {
                    logger.error("settings file is invalid; the previous settings stay in force", metadata: ["path": "\(path)", "error": "\(error)"])
                }
            }
        }
        defer { reloader.cancel() }
        defer { observer.stopped() }
        try await withGracefulShutdownHandler {
            try await loop(inotify: inotify, worker: worker, processor: processor)
        } onGracefulShutdown: {
            shutdown.set()
            inotify.stop()
        }
        logger.info("stopped")
    }

    private func loop(inotify: Inotify, worker: BlockingThreads, processor: Unchecked<FileProcessor>) async throws {
        let root = configuration.root
        // For looks at the inbox from this loop; claims go through the processor's, on the worker.
        let inbox = Inbox(root: root, clock: clock)
        var watches: [Int32: Watched] = [:]
        var tracker = SettleTracker()

        // The stream is started before the watches so no event between them is lost.
        let stream = inotify.start(tickMilliseconds: configuration.tickMilliseconds, bufferLimit: configuration.eventBufferLimit)

        func watch(_ path: String, _ mask: UInt32, as what: Watched) {
            do { watches[try inotify.watch(path, mask: mask)] = what } catch {
                logger.error("cannot watch a folder", metadata: ["path": "\(path)", "error": "\(error)"])
            }
        }
        /// Sets any missing watches and queues every file present in the inboxes.
        func scanAll() async throws {
            watch(root.partners, Inotify.folderMask, as: .partners)
            let partners = try await worker.run { processor.value.inbox.partners() }
            for partner in partners { try await scanPartner(partner) }
        }
        func scanPartner(_ partner: String) async throws {
            watch(root.partnerFolder(partner), Inotify.folderMask, as: .partnerFolder(partner))
            guard FileSystem.isDirectory(root.inbox(partner)) else { return }
            watch(root.inbox(partner), Inotify.inboxMask, as: .inbox(partner))
            let names = try await worker.run { processor.value.inbox.entries(partner) }
            for name in names { observe(partner, name, closed: true) }
            try await scanCheck(partner)
        }
        func scanCheck(_ partner: String) async throws {
            // A link in its place is refused as an inbox entry, never followed.
            guard inbox.hasCheckFolder(partner) else { return }
            watch(root.inbox(partner, check: true), Inotify.checkMask, as: .check(partner))
            let names = try await worker.run { processor.value.inbox.entries(partner, check: true) }
            for name in names { observe(partner, name, check: true, closed: true) }
        }
        func observe(_ partner: String, _ name: String, check: Bool = false, closed: Bool, awaitsLinkRelease: Bool? = nil) {
            let path = root.inboxFile(partner, name, check: check)
            guard let signature = FileSignature(path: path) else { return }
            tracker.observe(partner: partner, name: name, path: path, check: check, signature: signature, closed: closed,
                            awaitsLinkRelease: awaitsLinkRelease, now: clock.monotonicSeconds())
        }

        /// Closes the candidates of a folder that waited as the second link of a temporary name,
        /// once they have a single link; the settle time starts again from the change.
        func releaseLinks(_ partner: String, check: Bool) {
            for candidate in tracker.candidates.values
            where candidate.partner == partner && candidate.check == check && !candidate.closed && candidate.awaitsLinkRelease {
                guard FileSystem.entryKind(candidate.path) == .regular(links: 1) else { continue }
                observe(partner, candidate.name, check: check, closed: true)
            }
        }

        try await scanAll()
        logger.info("watching", metadata: ["root": "\(root.path)", "partners": "\(watches.values.filter { if case .inbox = $0 { true } else { false } }.count)"])
        observer.ready()
        // Files claimed before a crash or stop go first; the worker runs jobs in order.
        try await worker.run { processor.value.resume() }
        var lastRescan = clock.monotonicSeconds()
        let sharedJournal = try await worker.run { processor.value.journal.sharedByNodes }

        for await signal in stream {
            switch signal {
            case .overflow:
                logger.warning("inotify events were lost; rescanning every inbox")
                try await scanAll()
            case .tick:
                break
            case .events(let events):
                for event in events {
                    guard let watched = watches[event.watch] else { continue }
                    if event.mask & UInt32(IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF) != 0 {
                        // The folder went away; a later scan re-adds it if it comes back.
                        if event.mask & UInt32(IN_IGNORED) != 0 {
                            watches[event.watch] = nil
                        } else if case .check = watched, event.mask & UInt32(IN_MOVE_SELF) != 0 {
                            // A `check` moved elsewhere is no longer the check folder: its events
                            // would be read as `check/<name>`, which may now be a link.
                            watches[event.watch] = nil
                            inotify.unwatch(event.watch)
                        }
                        continue
                    }
                    switch watched {
                    case .partners:
                        if event.isDirectory && PartnerName.isValid(event.name) {
                            logger.info("new partner", metadata: ["partner": "\(event.name)"])
                            try await scanPartner(event.name)
                        }
                    case .partnerFolder(let partner):
                        if event.name == "inbox" { try await scanPartner(partner) }
                    case .inbox(let partner), .check(let partner):
                        let check: Bool
                        if case .check = watched { check = true } else { check = false }
                        if event.mask & UInt32(IN_DELETE) != 0 {
                            // A temporary name went away: an upload renamed by link and unlink
                            // (OpenSSH's answer to a plain rename request) is now whole.
                            if UploadNames.isTemporary(event.name) { releaseLinks(partner, check: check) }
                            continue
                        }
                        if UploadNames.isTemporary(event.name) { continue }
                        if !check && event.name == "check" && event.isDirectory {
                            try await scanCheck(partner)
                            continue
                        }
                        let path = root.inboxFile(partner, event.name, check: check)
                        // Written in place and closed counts as done unless the partner's client
                        // always renames from a temporary name (`temporary_names_only`).
                        let closeCounts = !settings.value.forPartner(partner).temporaryNamesOnly
                        var done = event.mask & UInt32(IN_MOVED_TO) != 0 || (closeCounts && event.mask & UInt32(IN_CLOSE_WRITE) != 0)
                        // A name created may be the new name of a rename by link, whose temporary
                        // name's removal completes it; a close of it shows it was written in place
                        // instead (a link is never closed under its new name).
                        var awaitsLinkRelease: Bool?
                        if event.mask & UInt32(IN_CREATE) != 0 { awaitsLinkRelease = true }
                        if event.mask & UInt32(IN_CLOSE_WRITE) != 0 { awaitsLinkRelease = false }
                        switch FileSystem.entryKind(path) {
                        case .regular(let links)? where links > 1:
                            // The new name of a rename by link while the temporary name is still
                            // there: it waits for it to go. A hard link to anything else is
                            // refused once settled.
                            let linked = inbox.holdsTemporaryLink(to: path, partner: partner, check: check)
                            awaitsLinkRelease = linked
                            done = !linked
                        case let kind? where Inbox.refusal(for: kind) != nil:
                            done = true // a link, a pipe, a folder: settle, then refuse
                        default:
                            break
                        }
                        observe(partner, event.name, check: check, closed: done, awaitsLinkRelease: awaitsLinkRelease)
                    }
                }
            }
            if shutdown.isSet { break }
            if let every = configuration.rescanSeconds, clock.monotonicSeconds() - lastRescan >= every {
                // What inotify cannot see: other machines' uploads on shared storage, and files a
                // node that died left claimed.
                lastRescan = clock.monotonicSeconds()
                try await scanAll()
                try await worker.run { processor.value.resume() }
                logger.debug("rescanned")
            }
            if settingsReloaded.take() {
                logger.info("settings changed; rescanning every inbox and resuming waiting files")
                try await worker.run { processor.value.resume() }
                try await scanAll()
            }
            try await processReady(&tracker, worker: worker, processor: processor, sharedJournal: sharedJournal)
            try await worker.run { processor.value.retryDue() }
            observer.passed(tracker.candidates.count)
        }
    }

    private func processReady(_ tracker: inout SettleTracker, worker: BlockingThreads, processor: Unchecked<FileProcessor>, sharedJournal: Bool) async throws {
        // In the order the uploads arrived: last modified first, then by name.
        let ready = tracker.takeReady(now: clock.monotonicSeconds(), settle: { settleSeconds($0.partner) }) { FileSignature(path: $0) }
            .sorted(by: SettleTracker.Candidate.arrivedBefore)
        if sharedJournal {
            let outcomes = try await worker.run { processor.value.handleReadyInTurns(ready) }
            for (candidate, outcome) in zip(ready, outcomes) { requeue(candidate, after: outcome, in: &tracker) }
            return
        }
        for candidate in ready {
            if shutdown.isSet { return }
            let outcome = try await worker.run {
                processor.value.handleReady(partner: candidate.partner, name: candidate.name, check: candidate.check, incompleteSince: candidate.incompleteSince)
            }
            requeue(candidate, after: outcome, in: &tracker)
        }
    }

    /// Puts a candidate back in the tracker when its outcome says to ask again.
    private func requeue(_ candidate: SettleTracker.Candidate, after outcome: FileProcessor.ReadyOutcome, in tracker: inout SettleTracker) {
        switch outcome {
        case .incomplete: tracker.requeueIncomplete(candidate, now: clock.monotonicSeconds())
        case .busy: tracker.requeueBusy(candidate, now: clock.monotonicSeconds())
        case .otherNodesTurn: tracker.requeueLater(candidate, now: clock.monotonicSeconds())
        case .claimFailed: tracker.requeueAfterFailedClaim(candidate, now: clock.monotonicSeconds())
        // Left in the inbox: the rescan after a settings reload, or the marker's arrival,
        // brings it back.
        case .processed, .skipped, .waitingForSettings, .waitingForMarker: break
        }
    }
}
