#if canImport(Glibc)
import Glibc
#endif

/// The process's peak resident memory, from the kernel's own high-water mark.
public enum PeakMemory {
    /// `VmHWM` from `/proc/self/status`, in bytes; nil where there is no procfs.
    public static func bytes() -> Int? {
        guard let file = try? FileDescriptor(opening: "/proc/self/status") else { return nil }
        let chunk = ChunkBuffer(count: 8192)
        var status: [UInt8] = []
        while let n = try? file.read(into: chunk.raw), n > 0 { status += chunk.prefix(n) }
        for line in String(decoding: status, as: UTF8.self).split(separator: "\n") where line.hasPrefix("VmHWM:") {
            return Int(line.filter(\.isNumber)).map { $0 * 1024 }
        }
        return nil
    }

    /// Writes `intake: peak memory N bytes` to stderr, for benchmarks and tests.
    public static func report() {
        guard let peak = bytes() else { return }
        let err = OutputStream(fd: STDERR_FILENO)
        try? err.write("intake: peak memory \(peak) bytes\n")
        try? err.flush()
    }
}
