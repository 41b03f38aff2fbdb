import CIntakeLinux
#if canImport(Glibc)
import Glibc
#endif

/// What stands at a path, read without following a final symbolic link.
///
/// Inboxes are written by strangers, so Intake asks what a name is before it opens it: only a
/// regular file with a single link is an upload (a second link could be a file of someone else's).
public enum EntryKind: Equatable, Sendable {
    case regular(links: Int)
    case symbolicLink
    case directory
    case fifo
    case other

    /// The kind an `lstat` or `fstat` result describes.
    public init(_ st: stat) {
        switch st.st_mode & S_IFMT {
        case S_IFREG: self = .regular(links: Int(st.st_nlink))
        case S_IFLNK: self = .symbolicLink
        case S_IFDIR: self = .directory
        case S_IFIFO: self = .fifo
        default: self = .other
        }
    }

}

/// Small file-system operations that Intake needs to be crash-safe, each through ``syscall``.
public enum FileSystem {
    /// Flushes a directory, so that a rename or create inside it survives a power loss.
    public static func syncDirectory(_ path: String) throws(SystemError) {
        let dir = try FileDescriptor(opening: path, flags: O_RDONLY | O_DIRECTORY)
        try dir.sync()
    }

    /// Renames atomically (same file system) and flushes both directories.
    public static func rename(_ from: String, to: String) throws(SystemError) {
        _ = try syscall("rename", "\(from) -> \(to)") { Glibc.rename(from, to) }
        try syncParents(from, to)
    }

    /// Renames atomically unless `to` exists (`renameat2` with `RENAME_NOREPLACE`, failing with
    /// `EEXIST`; `EINVAL` on a file system without the flag), and flushes both directories.
    public static func renameWithoutReplacing(_ from: String, to: String) throws(SystemError) {
        _ = try syscall("renameat2(RENAME_NOREPLACE)", "\(from) -> \(to)") { intake_rename_noreplace(from, to) }
        try syncParents(from, to)
    }

    /// Flushes the folders a rename from `from` to `to` changed, each once.
    private static func syncParents(_ from: String, _ to: String) throws(SystemError) {
        try syncDirectory(parent(of: to))
        let fromParent = parent(of: from)
        if fromParent != parent(of: to) { try syncDirectory(fromParent) }
    }

    /// Creates `path` and its missing parents with `mode`; an existing directory is fine. Each
    /// folder it makes is flushed into its parent, so a file renamed into it and flushed there
    /// (a claim, an archive, a result) does not lose its folder at a power loss.
    public static func createDirectories(_ path: String, mode: mode_t = 0o755) throws(SystemError) {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            let parent = current.isEmpty ? "/" : current
            current += "/" + component
            do throws(SystemError) {
                _ = try syscall("mkdir", current) { [current] in mkdir(current, mode) }
                // A parent the service may pass through but not read (mode 0711) cannot be
                // opened to flush; that is the operator's folder, made durable by its maker.
                do throws(SystemError) { try syncDirectory(parent) } catch where error.code == EACCES {}
            } catch where error.code == EEXIST && isDirectory(current) {
                continue
            }
        }
    }

    /// The status of whatever is at `path`, not following a final symlink; nil when nothing is
    /// there (or it cannot be looked at, which for a watcher is the same: nothing to take).
    public static func linkStatus(_ path: String) -> stat? {
        var st = stat()
        guard (try? syscall("lstat", path, { lstat(path, &st) })) != nil else { return nil }
        return st
    }

    /// The status of the file at `path`, following symlinks; nil when there is none.
    public static func status(_ path: String) -> stat? {
        var st = stat()
        guard (try? syscall("stat", path, { stat(path, &st) })) != nil else { return nil }
        return st
    }

    /// What is at `path` (not following a final symlink); nil when nothing is there.
    public static func entryKind(_ path: String) -> EntryKind? {
        linkStatus(path).map(EntryKind.init)
    }

    /// Whether `path` is a directory (following symlinks).
    public static func isDirectory(_ path: String) -> Bool {
        status(path).map { $0.st_mode & S_IFMT == S_IFDIR } ?? false
    }

    /// Whether something exists at `path` (without following a final symlink).
    public static func exists(_ path: String) -> Bool { linkStatus(path) != nil }

    /// Removes a file; a missing one is fine.
    public static func removeFile(_ path: String) throws(SystemError) {
        do throws(SystemError) { _ = try syscall("unlink", path) { unlink(path) } } catch where error.code == ENOENT {}
    }

    /// The entries of a directory (no `.` or `..`), sorted by name so scans are deterministic.
    public static func contents(of path: String) throws(SystemError) -> [String] {
        let dir = try syscall("opendir", path) { opendir(path) }
        defer { closedir(dir) }
        var names: [String] = []
        while true {
            // readdir returns NULL both at the end and on error; errno, cleared before each call
            // (the loop's allocations may set it), tells which.
            errno = 0
            guard let entry = readdir(dir) else { break }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
            if name != "." && name != ".." { names.append(name) }
        }
        if errno != 0 { throw SystemError(code: errno, operation: "readdir", subject: path) }
        return names.sorted()
    }

    /// A name beside `path` that readers ignore: a dot-file ending in `.tmp`, unique to this process.
    public static func temporarySibling(of path: String) -> String {
        "\(parent(of: path))/.\(baseName(of: path)).\(getpid()).tmp"
    }

    /// The longest start of `name` that fits in `maxBytes` of UTF-8, cut between characters, so
    /// that names Intake derives from a partner's file name stay within a file system's 255
    /// bytes however long the partner's name is.
    public static func prefix(of name: String, maxBytes: Int) -> String {
        guard name.utf8.count > maxBytes else { return name }
        var bytes = 0
        var end = name.startIndex
        for index in name.indices {
            let size = name[index].utf8.count
            if bytes + size > maxBytes { break }
            bytes += size
            end = name.index(after: index)
        }
        return String(name[..<end])
    }

    /// The longest name a file system takes (`NAME_MAX`).
    public static let maxNameBytes = 255

    /// The directory part of `path` (`.` when there is none).
    public static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }

    /// The last component of `path`.
    public static func baseName(of path: String) -> String {
        path.split(separator: "/", omittingEmptySubsequences: true).last.map(String.init) ?? path
    }
}
