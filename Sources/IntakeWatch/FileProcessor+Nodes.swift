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

    /// With the partner's turn held: drives its unfinished files in journal order. Stops at a file
    /// that cannot finish now (a shutdown, a retry later, settings to fix), so no later file of
    /// the partner overtakes it; returns whether every file finished.
    private func driveInTurn(_ partner: String) -> Bool {
        for entry in ((try? journal.unfinished()) ?? []) where entry.partner == partner {
            if shuttingDown() || retries[entry.id] != nil { return false }
            drive(entry)
            guard (try? journal.entry(entry.id))?.step == .archived else { return false }
        }
        return true
    }

    /// The name an inbox file is reserved under: a check's is under `check/`.
    static func reservationName(_ name: String, check: Bool) -> String { check ? "check/" + name : name }

    /// Drops this node's reservation of a file it did not move after all.
    func releaseReservation(partner: String, name: String, check: Bool, inode: Int64?) {
        guard let inode else { return }
        do { try journal.release(partner: partner, inboxName: Self.reservationName(name, check: check), inode: inode) } catch {
            logger.error("cannot drop a reservation; it lapses with this node's lease", metadata: [
                "partner": "\(partner)", "file": "\(name)", "error": "\(error)",
            ])
        }
    }
}
