import IntakeImport
import IntakeStore
import IntakeSystem

/// Failures inside the running service are retried here, not at the next start.
extension FileProcessor {
    /// Records a failed try (the disk, the database, the workbook: not bad input, which never
    /// throws) and schedules the next, each one twice as far off, up to ten minutes. An import
    /// that keeps failing reaches the failures limit and is set aside with a workbook that
    /// names the last failure (see ``importClaimed(_:)``).
    func scheduleRetry(_ entry: JournalEntry, after error: any Error) {
        // The backoff counts from the failure, read before the journal records it.
        let failedAt = clock.monotonicSeconds()
        let failures = (try? journal.failed(entry.id, error: "\(error)", takingBackAttempt: error is FailedAttempt, now: clock.utcNow())) ?? entry.failures + 1
        let delay = min(configuration.retryBaseSeconds * Double(1 << min(failures - 1, 20)), 600)
        WatchMetrics.failedTry(partner: entry.partner)
        retries[entry.id] = failedAt + delay
        logger.error("file processing failed; it will be retried", metadata: [
            "partner": "\(entry.partner)", "file": "\(entry.fileName)", "step": "\(entry.step.rawValue)", "error": "\(error)",
            "failures": "\(failures)", "retry_in_seconds": "\(Int(delay))",
        ])
    }

    /// Drives the entries whose retry is due; the service calls it on every pass.
    func retryDue() {
        let now = clock.monotonicSeconds()
        for (id, due) in retries.sorted(by: { $0.value < $1.value }) where due <= now {
            if shuttingDown() { return }
            let entry: JournalEntry?
            do { entry = try journal.entry(id) } catch {
                // The database failed this read: the retry stays scheduled, after the base delay.
                retries[id] = now + configuration.retryBaseSeconds
                logger.error("a retry could not read its journal entry; it is tried again later", metadata: ["entry": "\(id)", "error": "\(error)"])
                continue
            }
            retries[id] = nil
            guard let entry, entry.step != .archived else { continue }
            logger.notice("retrying", metadata: ["partner": "\(entry.partner)", "file": "\(entry.fileName)", "step": "\(entry.step.rawValue)"])
            if journal.sharedByNodes { drivePartner(entry.partner) } else { drive(entry) }
        }
    }
}
