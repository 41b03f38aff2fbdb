/// A set that may answer "maybe" for an element it never saw, never "no" for one it did. With
/// 2^24 bits (2 MiB) and 3 probes, false answers stay near 1% up to a million elements.
/// Elements are hashed with Swift's per-process seed, so crafted ids cannot aim at its bits;
/// a caller that already hashed an element that way passes the hash.
public struct BloomFilter {
    private var words: [UInt64]
    private let mask: UInt64
    private let probes: UInt64

    /// A filter of `bits` bits (a power of two) setting `probes` bits per element.
    public init(bits: Int, probes: Int = 3) {
        words = [UInt64](repeating: 0, count: bits / 64)
        mask = UInt64(bits - 1)
        self.probes = UInt64(probes)
    }

    /// Adds `element`; returns whether it may have been added before.
    @discardableResult
    public mutating func insert(_ element: String) -> Bool { insert(hash: Self.hash(element)) }

    /// Whether `element` may have been added.
    public func mayContain(_ element: String) -> Bool { mayContain(hash: Self.hash(element)) }

    /// Adds the element with this 64-bit hash; returns whether it may have been added before.
    @discardableResult
    public mutating func insert(hash: UInt64) -> Bool {
        let (h1, h2) = Self.halves(hash)
        var seenBefore = true
        for i in 0..<probes {
            let bit = (h1 &+ i &* h2) & mask
            let word = Int(bit >> 6), flag = UInt64(1) << (bit & 63)
            if words[word] & flag == 0 {
                seenBefore = false
                words[word] |= flag
            }
        }
        return seenBefore
    }

    /// Whether the element with this 64-bit hash may have been added.
    public func mayContain(hash: UInt64) -> Bool {
        let (h1, h2) = Self.halves(hash)
        for i in 0..<probes {
            let bit = (h1 &+ i &* h2) & mask
            if words[Int(bit >> 6)] & (UInt64(1) << (bit & 63)) == 0 { return false }
        }
        return true
    }

    private static func hash(_ element: String) -> UInt64 {
        var hasher = Hasher()
        hasher.combine(element)
        return UInt64(bitPattern: Int64(hasher.finalize()))
    }

    /// Two halves of one 64-bit hash, for the positions h1 + i·h2 (Kirsch–Mitzenmacher).
    private static func halves(_ hash: UInt64) -> (UInt64, UInt64) {
        (hash & 0xFFFF_FFFF, (hash >> 32) | 1)
    }
}
