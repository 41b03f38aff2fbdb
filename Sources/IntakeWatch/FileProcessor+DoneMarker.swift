import IntakeImport
import IntakeStore
import IntakeSystem

/// Done markers (`done_marker`): a data file is taken only once its marker is there.
extension FileProcessor {
    /// What the partner's done markers say about inbox entry `name`.
    enum MarkerState {
        /// The partner uses none.
        case notUsed
        /// The data file's marker is there: take the file, then archive the marker.
        case present(path: String)
        /// The data file's marker has not come: the file waits for it.
        case missing
        /// `name` is itself a marker whose data file is there: take that file.
        case isMarker(dataFile: String)
    }

    func doneMarker(partner: String, name: String, check: Bool) -> MarkerState {
        guard let done = settings.value.forPartner(partner).doneMarker else { return .notUsed }
        if let data = done.dataFile(ofMarker: name) {
            // A marker settled: its data file goes now if it is there, else the marker waits
            // for it (the data file's own arrival finds the marker).
            return FileSystem.exists(root.inboxFile(partner, data, check: check)) ? .isMarker(dataFile: data) : .missing
        }
        let markerPath = root.inboxFile(partner, done.marker(for: name), check: check)
        guard FileSystem.entryKind(markerPath) == .regular(links: 1) else {
            logger.info("waiting for the done marker", metadata: ["partner": "\(partner)", "file": "\(name)", "marker": "\(done.marker(for: name))"])
            return .missing
        }
        return .present(path: markerPath)
    }

    /// Archives the done marker a claim left in the inbox when the process ended between the
    /// claim and the marker's archiving (see ``resume()``, which calls this at the start only),
    /// so the partner's next file of that name waits for a marker of its own instead of going at
    /// once on the old one.
    ///
    /// The two are told apart by change times, which the kernel sets and a client cannot: a
    /// marker that was there at the claim last changed before the data file's rename into the
    /// processing area (Linux's file systems set the renamed file's change time), and nothing
    /// in the service changes that file's metadata until it is archived; a marker written after
    /// the claim (the next file's, sent while the service was down) changed later and stays,
    /// whatever modification time its client gave it. Within one tick of the kernel's clock the
    /// two cannot be told apart, and the marker is archived: a file that then waits for its marker
    /// to be sent again is the lesser harm next to one taken before its marker.
    func archiveMarkerLeftByClaim(of entry: JournalEntry) {
        // A name of its own in the marker archive, which a rename there would otherwise replace.
        let token = ProcessingName(decoding: FileSystem.baseName(of: entry.processingPath))?.token ?? "journal-\(entry.id)"
        archiveMarkerLeft(partner: entry.partner, fileName: entry.fileName, check: entry.dryRun, claimedAt: entry.processingPath, token: token)
    }

    /// The same for claim `fileName`, now at `processingPath`, by the same change-time rule.
    func archiveMarkerLeft(partner: String, fileName: String, check: Bool, claimedAt processingPath: String, token: String) {
        guard let done = settings.value.forPartner(partner).doneMarker,
              !check || inbox.hasCheckFolder(partner),
              let claimed = FileSystem.linkStatus(processingPath) else { return }
        let markerPath = root.inboxFile(partner, done.marker(for: fileName), check: check)
        guard let marker = FileSystem.linkStatus(markerPath), EntryKind(marker) == .regular(links: 1) else { return }
        let changed = (marker.st_ctim.tv_sec, marker.st_ctim.tv_nsec), moved = (claimed.st_ctim.tv_sec, claimed.st_ctim.tv_nsec)
        guard changed <= moved else { return }
        logger.notice("archiving the done marker a claim left in the inbox", metadata: ["partner": "\(partner)", "file": "\(fileName)"])
        archiveMarker(markerPath, partner: partner, token: token)
    }

    /// Moves a done marker out of the inbox once its data file is claimed, beside the archive.
    func archiveMarker(_ path: String, partner: String, token: String) {
        let name = FileSystem.baseName(of: path)
        do {
            try FileSystem.createDirectories(root.markerArchive(partner), mode: 0o750)
            try FileSystem.rename(path, to: root.markerArchive(partner) + "/\(token)-\(FileSystem.prefix(of: name, maxBytes: ProcessingName.maxNameBytes))")
        } catch {
            logger.error("cannot archive the done marker", metadata: ["partner": "\(partner)", "marker": "\(name)", "error": "\(error)"])
        }
    }
}
