#if canImport(Glibc)
import Glibc
#endif

/// A buffered writer to a raw descriptor (stdout, stderr), flushed in 64 KiB writes.
///
/// `print` takes a lock and may flush per line; `intake preview --limit all` writes millions of
/// lines, so it buffers here instead.
public final class OutputStream {
    private let fd: Int32
    private var buffer: [UInt8] = []

    /// A writer to `fd`, which it does not close. What is still buffered is written when the stream
    /// goes away, errors ignored; call ``flush()`` to see them.
    public init(fd: Int32) {
        self.fd = fd
        buffer.reserveCapacity(1 << 16)
    }

    deinit { try? flush() }

    /// Buffers `bytes`, writing the buffer out once it holds 64 KiB.
    /// - Throws: ``SystemError`` when that write fails.
    public func write(_ bytes: [UInt8]) throws(SystemError) {
        buffer.append(contentsOf: bytes)
        if buffer.count >= 1 << 16 { try flush() }
    }

    /// Buffers `text` as UTF-8, writing the buffer out once it holds 64 KiB.
    /// - Throws: ``SystemError`` when that write fails.
    public func write(_ text: String) throws(SystemError) {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= 1 << 16 { try flush() }
    }

    /// Writes out everything buffered, continuing after short writes.
    /// - Throws: ``SystemError`` when a write fails; what was written before it is dropped from the
    ///   buffer, so a later flush never writes it twice.
    public func flush() throws(SystemError) {
        let descriptor = fd
        var offset = 0
        defer { buffer.removeFirst(offset) }
        // Array.withUnsafeBytes only rethrows untyped errors; carry the typed one out in a Result.
        try buffer.withUnsafeBytes { raw in
            Result { () throws(SystemError) in
                while offset < raw.count {
                    let base = raw.baseAddress! + offset
                    let count = raw.count - offset
                    offset += try syscall("write") { Glibc.write(descriptor, base, count) }
                }
            }
        }.get()
    }
}
