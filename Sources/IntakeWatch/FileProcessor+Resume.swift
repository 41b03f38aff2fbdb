import IntakeSystem

extension FileProcessor {
    /// Crash recovery, run at every start (and after a settings reload): adopts files left in the
    /// processing area without a journal entry (a crash between the claim's rename and the
    /// journal insert), then drives every unfinished entry to the end.
    ///
    /// The journal is the truth wherever it has an entry; a file's name is read only to adopt it.
    func resume() {
        for partner in (try? FileSystem.contents(of: root.processing)) ?? [] {
            for file in (try? FileSystem.contents(of: root.processing(partner))) ?? [] {
                let path = root.processing(partner) + "/" + file
                guard (try? journal.knows(processingPath: path)) == false else { continue }
                // A name not made by ProcessingName (written by hand, or by an older version) is
                // adopted as a check: a dry run changes nothing, so a wrong guess costs a re-send,
                // never a wrong import.
                let name = ProcessingName(decoding: file) ?? ProcessingName(token: "", check: true, fileName: file)
                _ = try? journal.claimed(partner: partner, fileName: name.fileName, processingPath: path, dryRun: name.check, now: clock.utcNow())
                logger.notice("adopted a claimed file found at start", metadata: [
                    "partner": "\(partner)", "file": "\(name.fileName)", "check": "\(name.check)",
                ])
            }
        }
        for entry in (try? journal.unfinished()) ?? [] {
            if shuttingDown() { return }
            logger.notice("resuming", metadata: ["partner": "\(entry.partner)", "file": "\(entry.fileName)", "step": "\(entry.step.rawValue)"])
            drive(entry)
        }
    }
}
