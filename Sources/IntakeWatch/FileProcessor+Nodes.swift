import IntakeStore

/// What changes when several nodes share the journal (PostgreSQL): inbox files are reserved
/// before they are moved, and a partner's files are driven by the node whose turn it is, in the
/// order they were claimed, whichever node claimed them.
extension FileProcessor {
    /// Handles one pass's settled uploads, partner by partner, each under the partner's turn:
    /// only the node with the turn claims a partner's files, in the order given (the order they
    /// arrived), then drives them; so a partner's files are imported one at a time and in order,
    /// whichever node runs them. Returns an outcome per candidate, in the same order.
    func handleReadyInTurns(_ candidates: [SettleTracker.Candidate]) -> [ReadyOutcome] {
        var outcomes = [ReadyOutcome](repeating: .otherNodesTurn, count: candidates.count)
        var partners: [String] = []
        for candidate in candidates where !partners.contains(candidate.partner) { partners.append(candidate.partner) }
        for partner in partners {
            if shuttingDown() { break }
            do {
                _ = try journal.withPartnerTurn(partner) {
                    for (index, candidate) in candidates.enumerated() where candidate.partner == partner && !shuttingDown() {
                        outcomes[index] = handleReady(partner: partner, name: candidate.name, check: candidate.check,
                                                      incompleteSince: candidate.incompleteSince, drive: false)
                    }
                    _ = driveInTurn(partner)
                }
            } catch {
                logger.error("cannot take the partner's turn", metadata: ["partner": "\(partner)", "error": "\(error)"])
            }
        }
        return outcomes
    }

    /// Drives `partner`'s unfinished files, oldest first, if this node gets the partner's turn;
    /// otherwise the node that has it drives them.
    func drivePartner(_ partner: String) {
        // A second pass: a file recorded while this node held the turn, by a node that then found
        // the turn taken, is driven here once the turn is given up.
        for _ in 0..<2 {
            var finished = false
            let hadTurn: Bool
            do { hadTurn = try journal.withPartnerTurn(partner) { finished = driveInTurn(partner) } } catch {
                logger.error("cannot take the partner's turn", metadata: ["partner": "\(partner)", "error": "\(error)"])
                return
            }
            guard hadTurn, finished, !shuttingDown() else { return }
            guard ((try? journal.unfinished()) ?? []).contains(where: { $0.partner == partner }) else { return }
        }
    }

    /// With the partner's turn held: drives its unfinished files in the order they arrived (a
    /// claimed file keeps its upload's modification time; ties in claim order). Stops at a file
    /// that cannot finish now (a shutdown, a retry later, settings to fix), so no later file of
    /// the partner overtakes it, and before importing a file while an upload that arrived
    /// earlier still waits in the inbox (another node may not have seen it settle yet): whoever
    /// claims that one drives both, in order. Returns whether every file finished.
    private func driveInTurn(_ partner: String) -> Bool {
        let entries = ((try? journal.unfinished()) ?? []).filter { $0.partner == partner }
            .map { entry in (entry, FileSignature(path: entry.processingPath)?.modified ?? 0) }
            .sorted { ($0.1, $0.0.id) < ($1.1, $1.0.id) }
        // Nothing is claimed while this runs, so the inbox is looked at once.
        let waiting = earliestRecentUpload(of: partner)
        for (entry, arrived) in entries {
            if shuttingDown() || retries[entry.id] != nil { return false }
            if entry.step == .claimed, let earlier = waiting, earlier.modified < arrived {
                logger.debug("waiting for an upload that arrived earlier", metadata: [
                    "partner": "\(partner)", "file": "\(entry.fileName)", "earlier": "\(earlier.name)",
                ])
                return false
            }
            drive(entry)
            guard (try? journal.entry(entry.id))?.step == .archived else { return false }
        }
        return true
    }

    /// The earliest upload in `partner`'s inbox modified within the last few minutes (nanoseconds
    /// since 1970): one about to be claimed. An older one that stays (held open, waiting for a
    /// marker that never comes) stops holding later files back once that time is past.
    private func earliestRecentUpload(of partner: String) -> (name: String, modified: Int64)? {
        let now = Int64(clock.wallSeconds() * 1e9)
        return inbox.entries(partner)
            .compactMap { name in FileSignature(path: root.inboxFile(partner, name)).map { (name: name, modified: $0.modified) } }
            .filter { now - $0.modified < Self.earlierUploadWait }
            .min { $0.modified < $1.modified }
    }

    /// How long an earlier upload still in the inbox holds later files of its partner back.
    static let earlierUploadWait: Int64 = 300 * 1_000_000_000

    /// Drops this node's reservation of a file it did not move after all.
    func releaseReservation(partner: String, name: String, check: Bool, inode: Int64?) {
        guard let inode else { return }
        do { try journal.release(partner: partner, fileName: name, check: check, inode: inode) } catch {
            logger.error("cannot drop a reservation; it lapses with this node's lease", metadata: [
                "partner": "\(partner)", "file": "\(name)", "error": "\(error)",
            ])
        }
    }
}
