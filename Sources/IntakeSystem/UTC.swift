#if canImport(Glibc)
import Glibc
#endif

/// Wall-clock time as Intake stores it: UTC, `YYYY-MM-DD HH:MM:SS`. Reading the clock is
/// ``TimeSource``'s job; this only formats.
public enum UTC {
    /// `YYYY-MM-DD HH:MM:SS` for seconds since 1970.
    public static func format(_ epochSeconds: Int) -> String {
        var t = time_t(epochSeconds)
        var parts = tm()
        gmtime_r(&t, &parts)
        func pad(_ n: Int32, _ width: Int = 2) -> String {
            let s = String(n)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1))-\(pad(parts.tm_mday)) \(pad(parts.tm_hour)):\(pad(parts.tm_min)):\(pad(parts.tm_sec))"
    }
}
