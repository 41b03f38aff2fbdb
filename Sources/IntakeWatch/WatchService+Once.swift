import IntakeImport
import IntakeSystem

extension WatchService {
    /// `intake watch --once`: resume, then process every inbox file that has been unchanged for
    /// its partner's settle time, and return. Newer files are left for the next run.
    ///
    /// The same ``SettleTracker`` rule as the running service; a file's age comes from its
    /// modification and change times, since no events were seen for it.
    public func runOnce() async throws {
        let worker = BlockingThreads()
        defer { worker.shutdown() }
        let processor = try await makeProcessor(on: worker)
        try await worker.run { [clock, logger] in
            let p = processor.value
            p.resume()
            var tracker = SettleTracker()
            let (now, wall) = (clock.monotonicSeconds(), clock.wallSeconds())
            for partner in p.inbox.partners() {
                for check in [false, true] {
                    for name in p.inbox.entries(partner, check: check) {
                        let path = p.root.inboxFile(partner, name, check: check)
                        guard let signature = FileSignature(path: path) else { continue }
                        let age = max(0, wall - Double(max(signature.modified, signature.changed)) / 1e9)
                        tracker.observe(partner: partner, name: name, path: path, check: check, signature: signature, closed: true, now: now - age)
                    }
                }
            }
            let ready = tracker.takeReady(now: now, settle: { self.settleSeconds($0.partner) }) { FileSignature(path: $0) }
            for candidate in tracker.candidates.values.sorted(by: { $0.path < $1.path }) {
                logger.info("still settling; left for the next run", metadata: ["partner": "\(candidate.partner)", "file": "\(candidate.name)"])
            }
            let sorted = ready.map { candidate in
                // An XLSX without its zip directory is waited for since it last changed.
                var c = candidate
                c.incompleteSince = c.lastChange
                return c
            }.sorted(by: SettleTracker.Candidate.arrivedBefore)
            // Nodes sharing the journal: only the node with a partner's turn takes its files.
            let outcomes = p.journal.sharedByNodes
                ? p.handleReadyInTurns(sorted)
                : sorted.map { p.handleReady(partner: $0.partner, name: $0.name, check: $0.check, incompleteSince: $0.incompleteSince) }
            for (candidate, outcome) in zip(sorted, outcomes) {
                if outcome == .otherNodesTurn {
                    logger.info("another node has this partner's turn; left to it", metadata: ["partner": "\(candidate.partner)", "file": "\(candidate.name)"])
                } else if outcome == .claimFailed {
                    logger.info("could not be claimed (the log says why); left for the next run", metadata: ["partner": "\(candidate.partner)", "file": "\(candidate.name)"])
                } else if outcome == .busy || outcome == .incomplete {
                    logger.info("not finished yet; left for the next run", metadata: ["partner": "\(candidate.partner)", "file": "\(candidate.name)"])
                }
            }
        }
    }
}
