import CIntakeLinux

#if canImport(Glibc)
import Glibc
#endif

/// An open file descriptor with exactly one owner, closed when the owner goes away.
///
/// `~Copyable` so the descriptor cannot be closed twice or used after close by a stale copy.
public struct FileDescriptor: ~Copyable {
    /// The raw descriptor, valid for as long as this value lives.
    public let rawValue: Int32
    /// The path the descriptor was opened with, for error messages.
    public let path: String

    /// Takes ownership of an already open descriptor.
    public init(adopting rawValue: Int32, path: String) {
        self.rawValue = rawValue
        self.path = path
    }

    /// Opens `path` with `flags` (always with `O_CLOEXEC`, so children never inherit it).
    public init(opening path: String, flags: Int32 = O_RDONLY, mode: mode_t = 0o644) throws(SystemError) {
        let fd = try syscall("open", path) { open(path, flags | O_CLOEXEC, mode) }
        self.init(adopting: fd, path: path)
    }

    /// A new file without a name in `directory`, read and written through this descriptor only
    /// and gone when it is closed (or the process dies): scratch space for data too large to keep
    /// in memory. Falls back to a named file removed at once where the file system lacks O_TMPFILE.
    public static func anonymous(in directory: String) throws(SystemError) -> FileDescriptor {
        do throws(SystemError) {
            return FileDescriptor(adopting: try syscall("open(O_TMPFILE)", directory) { intake_open_anonymous(directory) }, path: directory + "/(anonymous)")
        } catch where error.code == EOPNOTSUPP || error.code == EISDIR {
            var template = Array((directory + "/.intake-scratch-XXXXXX").utf8CString)
            let fd = try syscall("mkstemp", directory) { template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) } }
            let path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            _ = try? syscall("unlink", path) { unlink(path) }
            // mkstemp has no close-on-exec flag of its own; set it before any child could inherit it.
            _ = try? syscall("fcntl(F_SETFD)", path) { fcntl(fd, F_SETFD, FD_CLOEXEC) }
            return FileDescriptor(adopting: fd, path: directory + "/(anonymous)")
        }
    }

    deinit { _ = Glibc.close(rawValue) }

    /// Reads up to `buffer.count` bytes at `offset`, without moving the file position.
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(SystemError) -> Int {
        try syscall("pread", path) { pread(rawValue, buffer.baseAddress, buffer.count, off_t(offset)) }
    }

    /// Reads up to `buffer.count` bytes; returns 0 at the end of the file.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(SystemError) -> Int {
        try syscall("read", path) { Glibc.read(rawValue, buffer.baseAddress, buffer.count) }
    }

    /// Writes all of `bytes`, looping over short writes.
    public func writeAll(_ bytes: UnsafeRawBufferPointer) throws(SystemError) {
        var offset = 0
        while offset < bytes.count {
            let base = bytes.baseAddress! + offset
            let remaining = bytes.count - offset
            offset += try syscall("write", path) { Glibc.write(rawValue, base, remaining) }
        }
    }

    /// Writes all of `bytes`.
    public func writeAll(_ bytes: some Sequence<UInt8>) throws(SystemError) {
        let array = Array(bytes)
        // Array.withUnsafeBytes only rethrows untyped errors; carry the typed one out in a Result.
        try array.withUnsafeBytes { raw in Result { () throws(SystemError) in try writeAll(raw) } }.get()
    }

    /// Flushes the file's data and metadata to stable storage.
    public func sync() throws(SystemError) {
        _ = try syscall("fsync", path) { fsync(rawValue) }
    }

    /// Takes a read lease (`F_SETLEASE`), which the kernel grants only while no process has the
    /// file open for writing. Fails with `EAGAIN` when a writer has it open, `EACCES`/`EPERM`
    /// without the right to take leases (not the owner, no `CAP_LEASE`).
    ///
    /// The first lease makes the process ignore SIGIO, which the kernel sends the holder when
    /// another process opens the file and whose default action would end the process; the
    /// holder asks ``leaseBreakPending`` instead.
    public func takeReadLease() throws(SystemError) {
        _ = Self.leaseBreakSignalIgnored
        _ = try syscall("fcntl(F_SETLEASE)", path) { intake_try_read_lease(rawValue) }
    }

    /// Once per process, before the first lease (a static's initializer runs exactly once).
    private static let leaseBreakSignalIgnored: Void = intake_ignore_lease_break_signal()

    /// Whether another process is opening the file for writing while this descriptor holds a
    /// read lease (the kernel breaks the lease and keeps the opener waiting until it is given
    /// back, or for `/proc/sys/fs/lease-break-time`). Meaningful only while a lease is held: a
    /// descriptor without one reads the same as a lease being broken.
    public var leaseBreakPending: Bool {
        intake_get_lease(rawValue) == Int32(F_UNLCK)
    }

    /// Gives back a lease taken with ``takeReadLease()``.
    public func releaseLease() {
        _ = try? syscall("fcntl(F_SETLEASE)", path) { intake_release_lease(rawValue) }
    }

    /// The file's status, for the descriptor itself (never a path that may have changed since).
    public func status() throws(SystemError) -> stat {
        var st = stat()
        _ = try syscall("fstat", path) { fstat(rawValue, &st) }
        return st
    }
}
