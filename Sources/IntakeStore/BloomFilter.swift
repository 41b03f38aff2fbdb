/// A set that may answer "maybe" for an element it never saw, never "no" for one it did; 2 MiB
/// for 2^24 bits keeps false answers near 1% up to a million elements, 3 hashes per element.
/// Hashed with Swift's per-process seed, so crafted ids cannot aim at its bits.
public struct BloomFilter {
    private var words: [UInt64]
    private let mask: UInt64

    /// A filter of `bits` bits, a power of two.
    public init(bits: Int) {
        words = [UInt64](repeating: 0, count: bits / 64)
        mask = UInt64(bits - 1)
    }

    /// Adds `element`; returns whether it may have been added before.
    @discardableResult
    public mutating func insert(_ element: String) -> Bool {
        let (h1, h2) = Self.hashes(element)
        var seenBefore = true
        for i in 0..<UInt64(3) {
            let bit = (h1 &+ i &* h2) & mask
            let word = Int(bit >> 6), flag = UInt64(1) << (bit & 63)
            if words[word] & flag == 0 {
                seenBefore = false
                words[word] |= flag
            }
        }
        return seenBefore
    }

    /// Whether `element` may have been added.
    public func mayContain(_ element: String) -> Bool {
        let (h1, h2) = Self.hashes(element)
        for i in 0..<UInt64(3) {
            let bit = (h1 &+ i &* h2) & mask
            if words[Int(bit >> 6)] & (UInt64(1) << (bit & 63)) == 0 { return false }
        }
        return true
    }

    /// Two halves of one 64-bit hash, for the positions h1 + i·h2 (Kirsch–Mitzenmacher).
    private static func hashes(_ element: String) -> (UInt64, UInt64) {
        var hasher = Hasher()
        hasher.combine(element)
        let hash = UInt64(bitPattern: Int64(hasher.finalize()))
        return (hash & 0xFFFF_FFFF, (hash >> 32) | 1)
    }
}
