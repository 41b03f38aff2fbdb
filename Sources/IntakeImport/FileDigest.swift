import Crypto
import IntakeSystem

/// The identity of a file's content: SHA-256 and size, read in one streaming pass.
public struct FileDigest: Sendable, Equatable {
    public var sha256: String
    public var size: Int64

    /// A digest already known: `sha256` as lowercase hex, `size` in bytes.
    public init(sha256: String, size: Int64) {
        self.sha256 = sha256
        self.size = size
    }

    /// Hashes the file at `path` through a descriptor opened once (so what is hashed is what was
    /// opened, even if the path is replaced meanwhile).
    public init(path: String) throws(SystemError) {
        let file = try FileDescriptor(opening: path)
        var hasher = SHA256()
        let chunk = ChunkBuffer(count: 1 << 20)
        var size: Int64 = 0
        while true {
            let n = try file.read(into: chunk.raw)
            if n == 0 { break }
            hasher.update(bufferPointer: chunk.prefix(n))
            size += Int64(n)
        }
        let hex = hasher.finalize().map { byte -> String in
            let s = String(byte, radix: 16)
            return byte < 16 ? "0" + s : s
        }.joined()
        self.init(sha256: hex, size: size)
    }
}
