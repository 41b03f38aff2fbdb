import CIntakeLinux
import IntakeImport
import IntakeSystem

#if canImport(Glibc)
import Glibc
#endif

/// The inbox's entry point for files that arrive over HTTP: the body is written to a file no
/// one can see (`O_TMPFILE` in the partner's inbox), made durable, and only then given its name
/// in one atomic step. The watcher sees a finished upload appear, exactly as after an SFTP
/// client's rename, and takes it through the same claim → import → result path.
///
/// A request that fails or a client that goes away leaves nothing behind: the anonymous file
/// disappears with its descriptor, even if the service is killed. An existing file of the same
/// name is never replaced; the upload takes `name (2).csv`, `name (3).csv`, ...
///
/// One owner: the request's task, which writes the body and then delivers or drops it.
public final class InboxUpload: @unchecked Sendable {
    public let partner: String
    public let check: Bool
    private let directory: String
    /// The body's file until it is delivered, then closed at once: the watcher's read lease is
    /// refused while anyone holds it open for writing.
    private var open: OpenFile?

    private final class OpenFile {
        let descriptor: FileDescriptor
        init(_ descriptor: consuming FileDescriptor) { self.descriptor = descriptor }
    }

    private func file() throws(SystemError) -> OpenFile {
        guard let open else { throw SystemError(code: EBADF, operation: "write", subject: directory + " (upload already delivered)") }
        return open
    }
    /// Where a file system without `O_TMPFILE` keeps the body meanwhile: a dot-name the
    /// watcher never claims, removed unless delivered.
    private var temporaryPath: String?
    public private(set) var size: Int64 = 0

    /// The file's inode, which the watcher's journal records when it claims the file.
    public var inode: Int64 {
        get throws(SystemError) { Int64(bitPattern: UInt64(try file().descriptor.status().st_ino)) }
    }

    /// Starts an upload into `partner`'s inbox, or its `check/` folder for a dry run.
    /// - Throws: ``SystemError`` when the inbox cannot be created or written.
    public init(root: DataRoot, partner: String, check: Bool) throws(SystemError) {
        self.partner = partner
        self.check = check
        let directory = root.inbox(partner, check: check)
        self.directory = directory
        if check {
            // Made only when nothing is there: a file or a (dangling) link in its place is refused.
            if FileSystem.linkStatus(directory) == nil { try FileSystem.createDirectories(directory) }
            try Self.requireFolderOfItsOwn(directory)
        } else {
            // The inbox itself is the operator's (it may be a link to another disk).
            try FileSystem.createDirectories(directory)
        }
        do throws(SystemError) {
            open = OpenFile(FileDescriptor(adopting: try syscall("open(O_TMPFILE)", directory) { intake_open_anonymous(directory) },
                                           path: directory + "/(upload)"))
        } catch where error.code == EOPNOTSUPP || error.code == EISDIR {
            let path = directory + "/" + Self.hiddenName()
            open = OpenFile(try FileDescriptor(opening: path, flags: O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode: 0o640))
            temporaryPath = path
        }
    }

    deinit {
        if let temporaryPath { _ = try? syscall("unlink", temporaryPath) { unlink(temporaryPath) } }
    }

    /// Appends `bytes` to the upload.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(SystemError) {
        try file().descriptor.writeAll(bytes)
        size += Int64(bytes.count)
    }

    /// Makes the upload durable and gives it its name in the inbox: `name`, or `name (N)` when
    /// that is taken. Returns the name it got. Blocks on fsync: call it off the event loops.
    /// - Throws: ``SystemError``; the upload is then gone.
    public func deliver(as name: String) throws(SystemError) -> String {
        let staged: String
        do {
            let file = try file()
            try file.descriptor.sync()
            if check { try Self.requireFolderOfItsOwn(directory) }
            if let temporaryPath {
                staged = temporaryPath
            } else {
                staged = directory + "/" + Self.hiddenName()
                _ = try syscall("linkat", staged) { intake_link_anonymous(file.descriptor.rawValue, staged) }
                temporaryPath = staged
            }
        }
        open = nil
        guard let delivered = try Self.move(staged, into: directory, as: name) else {
            throw SystemError(code: EEXIST, operation: "rename", subject: directory + "/" + name)
        }
        temporaryPath = nil
        return delivered
    }

    /// Refuses a `check` the partner replaced with a link to another folder (see
    /// ``Inbox/hasCheckFolder(_:)``) or with a file: the upload would land in that folder. Checked
    /// at the start and again just before the upload gets a name there.
    /// - Throws: ``SystemError`` `ENOTDIR` whose operation is ``notAFolderOfItsOwn``.
    private static func requireFolderOfItsOwn(_ directory: String) throws(SystemError) {
        guard FileSystem.entryKind(directory) == .directory else {
            throw SystemError(code: ENOTDIR, operation: notAFolderOfItsOwn, subject: directory)
        }
    }

    /// The operation of the error an upload into a folder that is not a folder of its own throws,
    /// which the HTTP side answers 409 (any other `ENOTDIR` is the service's own failure).
    public static let notAFolderOfItsOwn = "lstat (a folder of its own)"

    /// Moves `path` into `directory` as `name`, or `name (N)` when that is taken, never replacing
    /// a file there (the inbox may get a new upload of the same name at any moment), and flushes
    /// the folders. Returns the name it got; nil when all are taken.
    static func move(_ path: String, into directory: String, as name: String) throws(SystemError) -> String? {
        for candidate in candidates(for: name) {
            do throws(SystemError) {
                try FileSystem.renameWithoutReplacing(path, to: directory + "/" + candidate)
                return candidate
            } catch where error.code == EEXIST && error.operation.hasPrefix("renameat2") {
                continue
            }
        }
        return nil
    }

    /// Removes the staging names an earlier run left in the inboxes: a crash between the link
    /// and the rename of ``deliver(as:)`` (microseconds), or on a file system without
    /// `O_TMPFILE`, one being written. Call at start, before any upload of this process begins;
    /// returns the paths removed. The watcher never takes these names (they are dot-files).
    @discardableResult
    public static func removeLeftovers(root: DataRoot) -> [String] {
        var removed: [String] = []
        for partner in (try? FileSystem.contents(of: root.partners)) ?? [] where PartnerName.isValid(partner) {
            for check in [false, true] {
                let folder = root.inbox(partner, check: check)
                // Never through a link in place of `check` (see `Inbox.hasCheckFolder`).
                guard !check || FileSystem.entryKind(folder) == .directory else { continue }
                for name in (try? FileSystem.contents(of: folder)) ?? [] where name.hasPrefix(hiddenPrefix) {
                    let path = folder + "/" + name
                    guard case .regular? = FileSystem.entryKind(path), (try? FileSystem.removeFile(path)) != nil else { continue }
                    removed.append(path)
                }
            }
        }
        return removed
    }

    /// `name`, then `stem (2).ext` up to `stem (100).ext`.
    static func candidates(for name: String) -> [String] {
        let dot = name.lastIndex(of: ".") ?? name.endIndex
        let stem = name[..<dot], ext = name[dot...]
        return [name] + (2...100).map { "\(stem) (\($0))\(ext)" }
    }

    private static let hiddenPrefix = ".intake-upload-"

    private static func hiddenName() -> String {
        var generator = SystemRandomNumberGenerator()
        return hiddenPrefix + String(generator.next() as UInt64, radix: 36)
    }
}
