import IntakeSystem

#if canImport(Glibc)
import Glibc
#endif

/// What identifies a file's content without reading it: if none of these changed for the settle
/// time, the writer has stopped.
struct FileSignature: Equatable, Sendable {
    var device: UInt64
    var inode: UInt64
    var size: Int64
    var modified: Int64
    var changed: Int64

    /// The signature of whatever is at `path`, not following a symlink; nil when nothing is there.
    init?(path: String) {
        guard let st = FileSystem.linkStatus(path) else { return nil }
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
        size = Int64(st.st_size)
        modified = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
        changed = Int64(st.st_ctim.tv_sec) * 1_000_000_000 + Int64(st.st_ctim.tv_nsec)
    }

    init(device: UInt64, inode: UInt64, size: Int64, modified: Int64, changed: Int64) {
        (self.device, self.inode, self.size, self.modified, self.changed) = (device, inode, size, modified, changed)
    }
}

/// Files seen in inboxes that are waiting to be finished and settled.
///
/// A file is ready when its writer has closed it (or it was renamed into place, or found by a
/// scan) and its signature has not changed for `settle` seconds. Time comes from the caller,
/// so tests drive it without sleeping.
struct SettleTracker {
    struct Candidate: Equatable, Sendable {
        /// Uploads in the order they arrived: last modified first, then by name.
        static func arrivedBefore(_ a: Candidate, _ b: Candidate) -> Bool {
            (a.signature.modified, a.name) < (b.signature.modified, b.name)
        }

        var partner: String
        var name: String
        var path: String
        /// In the partner's `inbox/check/` folder: a dry run.
        var check = false
        var signature: FileSignature
        var lastChange: Double
        /// A close after writing, a rename into place, or a scan: the upload says it is done.
        var closed: Bool
        /// The new name of a rename carried out as link + unlink (OpenSSH's answer to a plain
        /// rename request): the removal of a temporary name in its folder completes it.
        var awaitsLinkRelease = false
        /// When the file first looked settled but was not yet complete (an XLSX without its zip
        /// directory), to give up on it eventually.
        var incompleteSince: Double?
        /// Claims of it that failed in a row, and the time before which it is not asked about
        /// again (see ``requeueAfterFailedClaim(_:now:)``).
        var failedClaims = 0
        var notBefore: Double?
    }

    private(set) var candidates: [String: Candidate] = [:]

    /// Notes that `path` was written, closed or found; `signature` is what it looks like now.
    /// `awaitsLinkRelease` sets or clears ``Candidate/awaitsLinkRelease``; nil leaves it.
    mutating func observe(partner: String, name: String, path: String, check: Bool = false, signature: FileSignature, closed: Bool,
                          awaitsLinkRelease: Bool? = nil, now: Double) {
        if var existing = candidates[path] {
            if let awaitsLinkRelease { existing.awaitsLinkRelease = awaitsLinkRelease }
            if existing.signature != signature {
                existing.signature = signature
                existing.lastChange = now
                existing.incompleteSince = nil
                // Another file now: its claim has not failed yet.
                existing.failedClaims = 0
                existing.notBefore = nil
            }
            existing.closed = existing.closed || closed
            candidates[path] = existing
        } else {
            candidates[path] = Candidate(partner: partner, name: name, path: path, check: check, signature: signature, lastChange: now, closed: closed,
                                         awaitsLinkRelease: awaitsLinkRelease ?? false)
        }
    }

    /// Candidates that are closed and unchanged for `settle` seconds, removed from the tracker.
    /// `signatureOf` re-reads each file (a change restarts its clock; a vanished file is dropped).
    mutating func takeReady(now: Double, settle: (Candidate) -> Double, signatureOf: (String) -> FileSignature?) -> [Candidate] {
        var ready: [Candidate] = []
        for (path, var candidate) in candidates {
            guard let current = signatureOf(path) else { candidates[path] = nil; continue }
            if current != candidate.signature {
                candidate.signature = current
                candidate.lastChange = now
                candidate.incompleteSince = nil
                candidate.failedClaims = 0
                candidate.notBefore = nil
                candidates[path] = candidate
                continue
            }
            if candidate.closed && now - candidate.lastChange >= settle(candidate) && now >= candidate.notBefore ?? now {
                ready.append(candidate)
                candidates[path] = nil
            }
        }
        return ready.sorted { $0.lastChange == $1.lastChange ? $0.path < $1.path : $0.lastChange < $1.lastChange }
    }

    /// Puts back a candidate that some process still has open for writing: it waits for the
    /// writer's close (an inotify event) before it is considered again.
    mutating func requeueBusy(_ candidate: Candidate, now: Double) {
        var c = candidate
        c.closed = false
        c.lastChange = now
        candidates[c.path] = c
    }

    /// Puts back a candidate whose claim failed (logged by the claim), to be asked about again
    /// after 1 s, then twice as long each time up to ten minutes: the cause (permissions, a full
    /// disk) is usually outside the service and takes a while to mend.
    mutating func requeueAfterFailedClaim(_ candidate: Candidate, now: Double) {
        var c = candidate
        c.failedClaims += 1
        c.notBefore = now + min(Double(1 << min(c.failedClaims - 1, 10)), 600)
        candidates[c.path] = c
    }

    /// Puts back a settled candidate to be asked about again once the settle time passes anew
    /// (another node has its partner's turn now).
    mutating func requeueLater(_ candidate: Candidate, now: Double) {
        var c = candidate
        c.lastChange = now
        candidates[c.path] = c
    }

    /// Puts back a candidate that settled but is not complete yet, remembering since when.
    mutating func requeueIncomplete(_ candidate: Candidate, now: Double) {
        var c = candidate
        c.incompleteSince = c.incompleteSince ?? now
        c.lastChange = now
        candidates[c.path] = c
    }
}
