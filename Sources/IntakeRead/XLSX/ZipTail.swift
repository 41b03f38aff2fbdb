import IntakeSystem

#if canImport(Glibc)
import Glibc
#endif

/// Whether a zip file has its end-of-central-directory record yet: an upload still in progress
/// (or cut off) does not, because a zip writer puts it last.
///
/// The watcher asks this before it claims an XLSX, so a workbook still arriving is left to finish;
/// it reads at most the last 64 KiB, never the whole file.
public enum ZipTail {
    /// The record's signature, `PK\5\6`.
    private static let signature: [UInt8] = [0x50, 0x4B, 0x05, 0x06]
    /// The record is 22 bytes plus a comment of at most 65,535 bytes, at the very end.
    private static let longestTail = 22 + 65_535

    /// True when the file at `path` ends with a zip directory record; false for anything else,
    /// including a file that cannot be opened (a link or a pipe is not followed or waited on).
    public static func isComplete(_ path: String) -> Bool {
        guard let file = try? FileDescriptor(opening: path, flags: O_RDONLY | O_NOFOLLOW | O_NONBLOCK),
              let size = try? Int(file.status().st_size) else { return false }
        let tail = min(size, longestTail)
        guard tail >= 22 else { return false }
        let buffer = ChunkBuffer(count: tail)
        guard (try? file.read(into: buffer.raw, at: Int64(size - tail))) == tail else { return false }
        return hasRecord(buffer.prefix(tail))
    }

    /// Whether `tail` (a file's last bytes) holds the record's signature where a record could start.
    static func hasRecord(_ tail: UnsafeRawBufferPointer) -> Bool {
        var i = tail.count - 22
        while i >= 0 {
            if tail[i] == signature[0] && tail[i + 1] == signature[1] && tail[i + 2] == signature[2] && tail[i + 3] == signature[3] { return true }
            i -= 1
        }
        return false
    }
}
