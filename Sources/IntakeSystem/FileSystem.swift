#if canImport(Glibc)
import Glibc
#endif

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
        try syncDirectory(parent(of: to))
        let fromParent = parent(of: from)
        if fromParent != parent(of: to) { try syncDirectory(fromParent) }
    }

    /// Creates `path` and its missing parents with `mode`; an existing directory is fine.
    public static func createDirectories(_ path: String, mode: mode_t = 0o755) throws(SystemError) {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            current += "/" + component
            if mkdir(current, mode) == 0 { continue }
            let code = errno
            if code == EEXIST, isDirectory(current) { continue }
            if code == EINTR { continue }
            throw SystemError(code: code, operation: "mkdir", subject: current)
        }
    }

    /// Whether `path` is a directory (following symlinks).
    public static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// Whether something exists at `path` (without following a final symlink).
    public static func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    /// Removes a file; a missing one is fine.
    public static func removeFile(_ path: String) throws(SystemError) {
        if unlink(path) == 0 { return }
        let code = errno
        if code == ENOENT { return }
        throw SystemError(code: code, operation: "unlink", subject: path)
    }

    /// The entries of a directory (no `.` or `..`), sorted by name so scans are deterministic.
    public static func contents(of path: String) throws(SystemError) -> [String] {
        guard let dir = opendir(path) else { throw SystemError(code: errno, operation: "opendir", subject: path) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// A name beside `path` that readers ignore: a dot-file ending in `.tmp`, unique to this process.
    public static func temporarySibling(of path: String) -> String {
        let dir = parent(of: path)
        let base = path.split(separator: "/").last.map(String.init) ?? path
        return "\(dir)/.\(base).\(getpid()).tmp"
    }

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
