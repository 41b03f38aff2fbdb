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
/// ``FileProcessor`` on a dedicated ``BlockingWorker`` thread. At start it resumes unfinished
/// files from the journal, then sets its watches, then scans every inbox, so nothing that
/// arrived while it was down (or while the watches were being set) is missed. An overflow of
/// events, the kernel's or its own, triggers the same scan.
public final class WatchService: Service {
    private let configuration: WatchConfiguration
    private let logger: Logger
    private let shutdown = Flag()
    private let monotonic: @Sendable () -> Double
    /// Called once the watches are set and the start-up scan is queued (tests wait on it).
    private let onReady: @Sendable () -> Void
    private let settings: SettingsBox

    /// - Throws: ``SettingsError`` when the settings file is invalid at start (there are no
    ///   earlier settings to keep, and guessing a partner's mode would be worse than not starting).
    public init(configuration: WatchConfiguration, logger: Logger, monotonic: @escaping @Sendable () -> Double = WatchService.monotonicSeconds, onReady: @escaping @Sendable () -> Void = {}) throws(SettingsError) {
        settings = SettingsBox(try configuration.settingsPath.map { path throws(SettingsError) in try Settings.load(path: path) } ?? Settings())
        self.configuration = configuration
        self.logger = logger
        self.monotonic = monotonic
        self.onReady = onReady
    }

    public static func monotonicSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    private enum Watched: Sendable { case partners, partnerFolder(String), inbox(String), check(String) }

    public func run() async throws {
        let worker = BlockingWorker()
        defer { worker.shutdown() }
        let inotify = try Inotify()
        let shutdown = self.shutdown
        let processor = try await worker.run { [configuration, settings, logger, monotonic] in
            Unchecked(try FileProcessor(configuration: configuration, settings: settings, logger: logger, monotonic: monotonic, shuttingDown: { shutdown.isSet }))
        }
        // SIGHUP reloads the settings; an invalid file is reported and the old settings stay.
        let reloader = Task { [configuration, settings, logger] in
            guard let path = configuration.settingsPath else { return }
            for await _ in await UnixSignalsSequence(trapping: .sighup) {
                do {
                    settings.replace(try Settings.load(path: path))
                    logger.notice("settings reloaded", metadata: ["path": "\(path)"])
                } catch {
                    logger.error("settings file is invalid; the previous settings stay in force", metadata: ["path": "\(path)", "error": "\(error)"])
                }
            }
        }
        defer { reloader.cancel() }
        try await withGracefulShutdownHandler {
            try await loop(inotify: inotify, worker: worker, processor: processor)
        } onGracefulShutdown: {
            shutdown.set()
            inotify.stop()
        }
        logger.info("stopped")
    }

    private func loop(inotify: Inotify, worker: BlockingWorker, processor: Unchecked<FileProcessor>) async throws {
        let root = configuration.root
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
            let partners = try await worker.run { processor.value.partners() }
            for partner in partners { try await scanPartner(partner) }
        }
        func scanPartner(_ partner: String) async throws {
            watch(root.partnerFolder(partner), Inotify.folderMask, as: .partnerFolder(partner))
            guard FileSystem.isDirectory(root.inbox(partner)) else { return }
            watch(root.inbox(partner), Inotify.inboxMask, as: .inbox(partner))
            let names = try await worker.run { processor.value.inboxEntries(partner) }
            for name in names { observe(partner, name, closed: true) }
            try await scanCheck(partner)
        }
        func scanCheck(_ partner: String) async throws {
            guard FileSystem.isDirectory(root.inbox(partner) + "/check") else { return }
            watch(root.inbox(partner) + "/check", Inotify.inboxMask, as: .check(partner))
            let names = try await worker.run { processor.value.inboxEntries(partner, check: true) }
            for name in names { observe(partner, name, check: true, closed: true) }
        }
        func observe(_ partner: String, _ name: String, check: Bool = false, closed: Bool) {
            let path = root.inbox(partner) + (check ? "/check/" : "/") + name
            guard let signature = FileSignature(path: path) else { return }
            tracker.observe(partner: partner, name: name, path: path, check: check, signature: signature, closed: closed, now: monotonic())
        }

        try await scanAll()
        logger.info("watching", metadata: ["root": "\(root.path)", "partners": "\(watches.values.filter { if case .inbox = $0 { true } else { false } }.count)"])
        onReady()
        // Files claimed before a crash or stop go first; the worker runs jobs in order.
        try await worker.run { processor.value.resume() }

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
                        if event.mask & UInt32(IN_IGNORED) != 0 { watches[event.watch] = nil }
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
                        if UploadNames.isTemporary(event.name) { continue }
                        let check: Bool
                        if case .check = watched { check = true } else { check = false }
                        if !check && event.name == "check" && event.isDirectory {
                            try await scanCheck(partner)
                            continue
                        }
                        let done = event.mask & UInt32(IN_CLOSE_WRITE | IN_MOVED_TO) != 0
                        // A creation alone is an upload starting, unless what was created is
                        // something to refuse (a link, a pipe): settling treats those as done.
                        let path = root.inbox(partner) + (check ? "/check/" : "/") + event.name
                        observe(partner, event.name, check: check, closed: done || isSuspicious(path))
                    }
                }
            }
            if shutdown.isSet { break }
            try await processReady(&tracker, worker: worker, processor: processor)
        }
    }

    private func isSuspicious(_ path: String) -> Bool {
        var st = stat()
        guard lstat(path, &st) == 0 else { return false }
        return st.st_mode & S_IFMT != S_IFREG || st.st_nlink > 1
    }

    private func processReady(_ tracker: inout SettleTracker, worker: BlockingWorker, processor: Unchecked<FileProcessor>) async throws {
        let settings = self.settings.value
        let defaultSettle = configuration.settleSeconds
        let ready = tracker.takeReady(now: monotonic(), settle: { settings.forPartner($0.partner).settleSeconds ?? defaultSettle }) { FileSignature(path: $0) }
        for candidate in ready {
            if shutdown.isSet { return }
            let outcome = try await worker.run {
                processor.value.handleReady(partner: candidate.partner, name: candidate.name, check: candidate.check, incompleteSince: candidate.incompleteSince)
            }
            switch outcome {
            case .incomplete: tracker.requeueIncomplete(candidate, now: monotonic())
            case .busy: tracker.requeueBusy(candidate, now: monotonic())
            case .processed, .skipped: break
            }
        }
    }

    /// `intake watch --once`: resume, then process every inbox file that has not changed for the
    /// settle time, and return. Newer files are left for the next run.
    public func runOnce() async throws {
        let worker = BlockingWorker()
        defer { worker.shutdown() }
        let shutdown = self.shutdown
        let processor = try await worker.run { [configuration, settings, logger, monotonic] in
            Unchecked(try FileProcessor(configuration: configuration, settings: settings, logger: logger, monotonic: monotonic, shuttingDown: { shutdown.isSet }))
        }
        let settle = configuration.settleSeconds
        try await worker.run {
            let p = processor.value
            p.resume()
            for partner in p.partners() {
                for (name, check) in p.inboxEntries(partner).map({ ($0, false) }) + p.inboxEntries(partner, check: true).map({ ($0, true) }) {
                    let path = p.configuration.root.inbox(partner) + (check ? "/check/" : "/") + name
                    guard let signature = FileSignature(path: path) else { continue }
                    var now = timespec()
                    clock_gettime(CLOCK_REALTIME, &now)
                    let age = Double(now.tv_sec) + Double(now.tv_nsec) / 1e9 - Double(max(signature.modified, signature.changed)) / 1e9
                    if age < settle && p.refusalReason(path) == nil {
                        p.logger.info("still settling; left for the next run", metadata: ["partner": "\(partner)", "file": "\(name)"])
                        continue
                    }
                    // An XLSX with no zip directory yet is left unless it is past the timeout.
                    let waited: Double? = age >= p.configuration.incompleteTimeoutSeconds ? p.monotonic() - age : p.monotonic()
                    if case .busy = p.handleReady(partner: partner, name: name, check: check, incompleteSince: waited) {
                        p.logger.info("still open for writing; left for the next run", metadata: ["partner": "\(partner)", "file": "\(name)"])
                    }
                }
            }
        }
    }
}

/// Carries a non-Sendable value between the service and its worker thread.
///
/// `@unchecked Sendable` is safe because the wrapped ``FileProcessor`` is only ever used inside
/// ``BlockingWorker/run(_:)`` jobs, which run one at a time on the worker's single thread.
struct Unchecked<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

/// A one-way flag shared between threads (set at graceful shutdown).
final class Flag: Sendable {
    private let state = Mutex(false)
    var isSet: Bool { state.withLock { $0 } }
    func set() { state.withLock { $0 = true } }
}
