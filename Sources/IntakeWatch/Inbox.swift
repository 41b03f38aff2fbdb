import IntakeImport
import IntakeSystem
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The partners' inboxes as the watcher touches them: what is there, what must be refused, and
/// the claim that moves an upload out of the partner's reach into the processing area.
///
/// Inboxes are written by strangers (SFTP users), so nothing here follows a link, blocks on a
/// pipe, or reads a file that someone still has open for writing.
///
/// `Sendable`: its state is the data root, the clock and an atomic counter.
final class Inbox: Sendable {
    let root: DataRoot
    private let clock: any TimeSource
    private let counter = Atomic<Int>(0)
    /// Random per process: nodes on other machines sharing the data root may have the same pid.
    private static let processNonce = UInt32.random(in: 0...UInt32.max)

    /// Runs with a claimed file just moved, its lease still held (tests open it there).
    private let afterMove: @Sendable (String) -> Void

    init(root: DataRoot, clock: any TimeSource, afterMove: @escaping @Sendable (String) -> Void = { _ in }) {
        self.root = root
        self.clock = clock
        self.afterMove = afterMove
    }

    // MARK: Listing

    /// Partners: folders under `partners/` with a valid name and an `inbox/`.
    func partners() -> [String] {
        ((try? FileSystem.contents(of: root.partners)) ?? []).filter {
            PartnerName.isValid($0) && FileSystem.isDirectory(root.inbox($0))
        }
    }

    /// The names in a partner's inbox (or its `check/` folder) that may be uploads: not temporary
    /// upload names, and not the `check/` folder itself. Nothing in a `check` that is not a real
    /// folder (see ``hasCheckFolder(_:)``).
    func entries(_ partner: String, check: Bool = false) -> [String] {
        if check && !hasCheckFolder(partner) { return [] }
        return ((try? FileSystem.contents(of: root.inbox(partner, check: check))) ?? []).filter { isCandidate($0, partner: partner, check: check) }
    }

    /// Whether `name` may be an upload at all (rather than a temporary name or the check folder).
    /// A `check` in the inbox that is not a real folder is one, so that it is refused and set aside.
    func isCandidate(_ name: String, partner: String, check: Bool) -> Bool {
        !UploadNames.isTemporary(name) && (check || name != "check" || !hasCheckFolder(partner))
    }

    /// Whether the partner's `inbox/check` is a folder itself, not a symbolic link to one. The
    /// partner owns its inbox and can replace `check` with a link (the deployed sshd refuses to
    /// make links, `internal-sftp -P symlink,hardlink`); the service is not in the partner's
    /// chroot, so it would follow a link to `/var/lib/intake/partners/other/inbox` into another
    /// partner's files. Such a `check` is never listed, watched, claimed from or uploaded into.
    func hasCheckFolder(_ partner: String) -> Bool {
        FileSystem.entryKind(root.inbox(partner, check: true)) == .directory
    }

    // MARK: Refusal

    /// Why an entry of this kind must not be read; nil for a regular file with one link.
    static func refusal(for kind: EntryKind) -> String? {
        switch kind {
        case .regular(let links): return links > 1 ? "hard links are not accepted; upload the file itself" : nil
        case .symbolicLink: return "symbolic links are not accepted; upload the file itself"
        case .directory: return "folders are not accepted in the inbox; upload files only"
        case .fifo: return "named pipes are not accepted; upload a regular file"
        case .other: return "only regular files are accepted"
        }
    }

    /// Why the thing at `path` must not be read; nil when it is acceptable or gone.
    func refusal(at path: String) -> String? {
        FileSystem.entryKind(path).flatMap(Self.refusal(for:))
    }

    /// Moves a refused entry out of the inbox, never following or reading it; returns where it went.
    func setAside(partner: String, name: String, path: String) throws(SystemError) -> String {
        let target = root.refusedFile(partner, "\(nextToken())-\(FileSystem.prefix(of: name, maxBytes: ProcessingName.maxNameBytes))")
        try FileSystem.createDirectories(root.refused(partner), mode: 0o750)
        try FileSystem.rename(path, to: target)
        return target
    }

    /// Whether a temporary name in the same folder is another link to the file at `path`: the
    /// first half of a rename carried out as `link` then `unlink`.
    func holdsTemporaryLink(to path: String, partner: String, check: Bool) -> Bool {
        guard let target = FileSystem.linkStatus(path) else { return false }
        let folder = root.inbox(partner, check: check)
        for name in (try? FileSystem.contents(of: folder)) ?? [] where UploadNames.isTemporary(name) {
            if let other = FileSystem.linkStatus(folder + "/" + name), other.st_ino == target.st_ino, other.st_dev == target.st_dev { return true }
        }
        return false
    }

    // MARK: Claiming

    /// What became of an attempt to claim an upload.
    enum Claim: Equatable {
        /// Moved into the processing area, flushed, under this name.
        case claimed(ProcessingName, path: String, size: Int64, inode: Int64)
        /// Some process still has it open for writing; wait for its close.
        case busy
        /// Swapped for something that must not be read since it was looked at.
        case refused(String)
        /// Gone before it could be opened.
        case gone
    }

    /// Moves `name` out of the partner's inbox into the processing area, where the partner can no
    /// longer change what is read.
    /// - Parameter keepName: a file that goes back to the inbox (a writer opened it meanwhile, a
    ///   flush failed) goes back only under its own name; see ``giveBack(_:to:keepName:)``.
    /// - Throws: ``SystemError`` when the rename or flush fails (the file is moved back to the
    ///   inbox when it can be; else the next start adopts it).
    func claim(partner: String, name: String, check: Bool, keepName: Bool = false) throws(SystemError) -> Claim {
        let path = root.inboxFile(partner, name, check: check)
        if check && !hasCheckFolder(partner) {
            throw SystemError(code: ENOTDIR, operation: "lstat", subject: root.inbox(partner, check: true) + " (not a folder of its own)")
        }
        // O_NOFOLLOW: a symlink swapped in since it was looked at fails here instead of being
        // followed; O_NONBLOCK: a FIFO swapped in cannot block the watcher.
        do throws(SystemError) {
            let file = try FileDescriptor(opening: path, flags: O_RDONLY | O_NOFOLLOW | O_NONBLOCK)
            return try claim(file, partner: partner, name: name, check: check, path: path, keepName: keepName)
        } catch where error.operation == "open" && error.code == ELOOP {
            return .refused(Self.refusal(for: .symbolicLink)!)
        } catch where error.operation == "open" && error.code == ENOENT {
            return .gone
        }
        // Any other failure (EACCES, EMFILE, a failed rename) is thrown for the caller to log.
    }

    private func claim(_ file: borrowing FileDescriptor, partner: String, name: String, check: Bool, path: String, keepName: Bool) throws(SystemError) -> Claim {
        let st = try file.status()
        if let reason = Self.refusal(for: EntryKind(st)) { return .refused(reason) }
        // A read lease is granted only when nobody has the file open for writing: an upload that
        // paused longer than the settle time is not mistaken for a finished one. Held through the
        // rename, so a writer cannot open it meanwhile. Without the right to take leases (not the
        // owner, no CAP_LEASE) the settle time alone decides.
        var leased = false
        do throws(SystemError) {
            try file.takeReadLease()
            leased = true
        } catch where error.code == EAGAIN {
            return .busy
        } catch {}
        defer { if leased { file.releaseLease() } }
        let processingName = ProcessingName(token: nextToken(), check: check, fileName: name)
        let processingPath = root.processingFile(partner, processingName.encoded)
        try FileSystem.createDirectories(root.processing(partner), mode: 0o750)
        do throws(SystemError) {
            try FileSystem.rename(file.path, to: processingPath)
            afterMove(processingPath)
            // Flush the upload itself: the partner's client may never have.
            try file.sync()
        } catch {
            // A flush failed, perhaps after the move: the file goes back for the next try, rather
            // than waiting unrecorded in the processing area.
            if FileSystem.linkStatus(processingPath) != nil { _ = Self.gaveBack(processingPath, to: path, keepName: keepName) }
            throw error
        }
        // A client that opened the file for writing meanwhile (a resumed upload) waits on the
        // lease and goes on writing into the moved file once it is released: the upload is not
        // finished. It goes back to the inbox (under its name, or `name (2).csv` if a new upload
        // took that and `keepName` allows), where the next claim's lease is refused while the
        // client has it open. Only if it cannot go back (its name or every name taken, a file
        // system without RENAME_NOREPLACE) is it read as it stands, as without a lease; with a
        // done marker, which said the file was whole, that is what the partner asked for.
        if leased && file.leaseBreakPending, Self.gaveBack(processingPath, to: path, keepName: keepName) {
            return .busy
        }
        return .claimed(processingName, path: processingPath, size: Int64(st.st_size), inode: Int64(bitPattern: UInt64(st.st_ino)))
    }

    /// Moves a claimed file from `processingPath` back to the inbox at `path`, never replacing a
    /// file there: under its name, or, when a new upload of that name arrived meanwhile and
    /// `keepName` is false, beside it as `name (2).csv` (the next free `(N)`).
    ///
    /// `keepName` is for partners with done markers: a file under another name would wait for a
    /// marker of that name that never comes, while its own marker, still in the inbox, would let
    /// the new upload be taken before its own. Such a file stays where it is instead.
    ///
    /// - Returns: the name it got; nil when it is back in the inbox but a folder's flush failed
    ///   after the rename, so the name is not known here.
    /// - Throws: ``SystemError`` when it was not moved: `EEXIST` when the name (or every name) is
    ///   taken, `ENOTDIR` when the folder is a link swapped in since the claim.
    @discardableResult
    static func giveBack(_ processingPath: String, to path: String, keepName: Bool) throws(SystemError) -> String? {
        // Not through a link swapped in for `check` since the claim (see ``hasCheckFolder(_:)``);
        // the inbox itself is the operator's and may be a link.
        let folder = FileSystem.parent(of: path), name = FileSystem.baseName(of: path)
        guard FileSystem.baseName(of: folder) != "check" || FileSystem.entryKind(folder) == .directory else {
            throw SystemError(code: ENOTDIR, operation: "lstat", subject: folder + " (not a folder of its own)")
        }
        do throws(SystemError) {
            if keepName {
                try FileSystem.renameWithoutReplacing(processingPath, to: path)
                return name
            }
            guard let given = try InboxUpload.move(processingPath, into: folder, as: name) else {
                throw SystemError(code: EEXIST, operation: "renameat2(RENAME_NOREPLACE)", subject: path)
            }
            return given
        } catch where !error.operation.hasPrefix("renameat2") && FileSystem.linkStatus(processingPath) == nil {
            return nil
        }
    }

    /// Whether ``giveBack(_:to:keepName:)`` moved the file (under whatever name).
    static func gaveBack(_ processingPath: String, to path: String, keepName: Bool) -> Bool {
        do { try giveBack(processingPath, to: path, keepName: keepName) } catch { return false }
        return true
    }

    /// A token unique to this claim or refusal: the wall-clock second, the process and a counter.
    private func nextToken() -> String {
        let n = counter.wrappingAdd(1, ordering: .relaxed).newValue
        return "\(Int(clock.wallSeconds()))-\(getpid())-\(Self.processNonce)-\(n)"
    }
}

extension DataRoot {
    /// Files waiting in each partner's inbox (and its `check/` folder), not yet claimed: the
    /// backlog an operator watches. Temporary upload names are not counted.
    public func inboxBacklog() -> [String: Int] {
        let inbox = Inbox(root: self, clock: SystemTime())
        var counts: [String: Int] = [:]
        for partner in inbox.partners() {
            counts[partner] = inbox.entries(partner).count + inbox.entries(partner, check: true).count
        }
        return counts
    }
}
