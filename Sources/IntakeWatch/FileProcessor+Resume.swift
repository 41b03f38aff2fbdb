import IntakeSystem

extension FileProcessor {
    /// Crash recovery, run at every start (and after a settings reload and each rescan): adopts
    /// files left in the processing area without a journal entry (a crash between the claim's
    /// rename and the journal insert, or an insert that failed), archives the done markers
    /// claims left in the inbox (at the start; later, those of the files it adopts), then drives
    /// every unfinished entry to the end.
    ///
    /// The journal is the truth wherever it has an entry; a file's name is read only to adopt it.
    func resume() {
        var adopted: Set<String> = []
        for partner in (try? FileSystem.contents(of: root.processing)) ?? [] {
            for file in (try? FileSystem.contents(of: root.processing(partner))) ?? [] {
                let path = root.processingFile(partner, file)
                guard let inode = FileSystem.linkStatus(path).map({ Int64(bitPattern: UInt64($0.st_ino)) }) else { continue }
                guard (try? journal.knows(processingPath: path, partner: partner, inode: inode)) == false else { continue }
                // A claim that went back to the inbox (a writer opened it, or its entry could not
                // be written) is moved before its reservation ends: gone now, not adopted.
                guard FileSystem.linkStatus(path) != nil else { continue }
                // A name made by the previous version is read its way; any other name (put there by
                // hand) is adopted as a check: a dry run changes nothing, so a wrong guess costs a
                // re-send, never a wrong import.
                let name: ProcessingName
                if let current = ProcessingName(decoding: file) {
                    name = current
                } else if let legacy = ProcessingName(decodingLegacy: file) {
                    name = legacy
                    logger.warning("adopting a file claimed by the previous version; its name decides whether it is a check",
                                   metadata: ["partner": "\(partner)", "file": "\(legacy.fileName)", "check": "\(legacy.check)"])
                } else {
                    name = ProcessingName(token: "", check: true, fileName: file)
                }
                _ = try? journal.claimed(partner: partner, fileName: name.fileName, processingPath: path, dryRun: name.check, inode: inode, now: clock.utcNow())
                adopted.insert(path)
                logger.notice("adopted a claimed file found at start", metadata: [
                    "partner": "\(partner)", "file": "\(name.fileName)", "check": "\(name.check)",
                ])
            }
        }
        let unfinished = (try? journal.unfinished()) ?? []
        // Claims made before this process started may have left their marker, and so may the
        // claims adopted now (never recorded, so never archived); a recorded claim of this
        // process archived its own, and later calls would find only the next files' markers.
        // Nodes sharing the journal leave them: another node may be between its claim and its
        // marker's archiving.
        if !journal.sharedByNodes {
            for entry in unfinished where !resumedOnce || adopted.contains(entry.processingPath) { archiveMarkerLeftByClaim(of: entry) }
        }
        resumedOnce = true
        if journal.sharedByNodes {
            // Each partner's files go to the node whose turn it is, in order.
            var partners: [String] = []
            for entry in unfinished where !partners.contains(entry.partner) { partners.append(entry.partner) }
            for partner in partners where !shuttingDown() { drivePartner(partner) }
            return
        }
        for entry in unfinished {
            if shuttingDown() { return }
            // A file that failed waits for its retry's backoff, whatever rescan comes first.
            if retries[entry.id] != nil { continue }
            logger.notice("resuming", metadata: ["partner": "\(entry.partner)", "file": "\(entry.fileName)", "step": "\(entry.step.rawValue)"])
            drive(entry)
        }
    }
}
