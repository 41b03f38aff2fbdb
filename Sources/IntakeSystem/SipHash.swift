/// SipHash-2-4 (Aumasson and Bernstein), a keyed 64-bit hash: without the key, no one can find
/// two inputs with the same hash, and it takes about a nanosecond per byte. Intake keeps such
/// hashes in the database (row digests), where Swift's `Hasher`, seeded anew in every process,
/// cannot serve. Fed incrementally; a copy of a hasher continues from the same point, so a
/// common prefix is hashed once.
public struct SipHash24: Sendable {
    private var v0: UInt64, v1: UInt64, v2: UInt64, v3: UInt64
    /// Bytes not yet forming a whole 8-byte word, little-endian, and how many.
    private var tail: UInt64 = 0
    private var tailCount = 0
    private var length = 0

    /// A hasher keyed with `k0` and `k1` (the 16-byte key as two little-endian words).
    public init(k0: UInt64, k1: UInt64) {
        v0 = k0 ^ 0x736f_6d65_7073_6575
        v1 = k1 ^ 0x646f_7261_6e64_6f6d
        v2 = k0 ^ 0x6c79_6765_6e65_7261
        v3 = k1 ^ 0x7465_6462_7974_6573
    }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        var i = 0
        length += bytes.count
        // Fill the tail up to a word first.
        while tailCount > 0 && tailCount < 8 && i < bytes.count {
            tail |= UInt64(bytes[i]) << UInt64(tailCount * 8)
            tailCount += 1
            i += 1
        }
        if tailCount == 8 {
            compress(tail)
            tail = 0
            tailCount = 0
        }
        while i + 8 <= bytes.count {
            compress(UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)))
            i += 8
        }
        while i < bytes.count {
            tail |= UInt64(bytes[i]) << UInt64(tailCount * 8)
            tailCount += 1
            i += 1
        }
    }

    /// Feeds `value`'s four bytes, little-endian (a length before each cell of a row: once per
    /// cell, so without going through the byte loop above).
    public mutating func update(_ value: UInt32) {
        length += 4
        tail |= UInt64(value) << UInt64(tailCount * 8)
        tailCount += 4
        if tailCount >= 8 {
            compress(tail)
            tailCount -= 8
            // The bytes that did not fit: none when the tail held four, else the value's top
            // `tailCount` (1–3) bytes.
            tail = tailCount == 0 ? 0 : UInt64(value) >> UInt64((4 - tailCount) * 8)
        }
    }

    /// The hash of everything fed so far (the hasher itself is left as it was).
    public func finalize() -> UInt64 {
        var copy = self
        let last = copy.tail | (UInt64(truncatingIfNeeded: length) << 56)
        copy.compress(last)
        copy.v2 ^= 0xff
        for _ in 0..<4 { copy.round() }
        return copy.v0 ^ copy.v1 ^ copy.v2 ^ copy.v3
    }

    private mutating func compress(_ m: UInt64) {
        v3 ^= m
        round()
        round()
        v0 ^= m
    }

    private mutating func round() {
        v0 &+= v1; v1 = v1.rotatedLeft(13); v1 ^= v0; v0 = v0.rotatedLeft(32)
        v2 &+= v3; v3 = v3.rotatedLeft(16); v3 ^= v2
        v0 &+= v3; v3 = v3.rotatedLeft(21); v3 ^= v0
        v2 &+= v1; v1 = v1.rotatedLeft(17); v1 ^= v2; v2 = v2.rotatedLeft(32)
    }
}

private extension UInt64 {
    func rotatedLeft(_ n: UInt64) -> UInt64 { (self << n) | (self >> (64 - n)) }
}
