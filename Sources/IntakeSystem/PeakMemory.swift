#if canImport(Glibc)
import Glibc
#endif

/// The process's peak resident memory, from the kernel's own high-water mark.
public enum PeakMemory {
    /// `VmHWM` from `/proc/self/status`, in bytes; nil where there is no procfs.
    public static func bytes() -> Int? {
        guard let file = fopen("/proc/self/status", "r") else { return nil }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 256)
        while fgets(&line, Int32(line.count), file) != nil {
            let text = String(cString: line)
            if text.hasPrefix("VmHWM:") {
                let digits = text.filter(\.isNumber)
                return Int(digits).map { $0 * 1024 }
            }
        }
        return nil
    }

    /// Writes `intake: peak memory N bytes` to stderr, for benchmarks and tests.
    public static func report() {
        guard let peak = bytes() else { return }
        let text = "intake: peak memory \(peak) bytes\n"
        _ = text.withCString { write(STDERR_FILENO, $0, strlen($0)) }
    }
}
