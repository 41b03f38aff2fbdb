/// A set that may answer "maybe" for an element it never saw, never "no" for one it did.
///
/// Blocked: an element's probes all fall in one 64-bit word, so an insert or a test touches one
/// cache line, not one per probe; the filters are megabytes, larger than a core's cache, and are
/// consulted for most rows of a file. With 2^24 bits and 3 probes, false answers stay under 1% up
/// to a million elements (about 0.7% there, against 0.44% with the probes spread over the whole
/// filter); each costs its caller a lookup. Elements are hashed with ``IDHash``; a caller that
/// already has an element's hash passes it.
public struct BloomFilter {
    private var words: [UInt64]
    private let wordMask: UInt64
    private let probes: Int

    /// A filter of `bits` bits (a power of two, at least 64) setting `probes` bits (at most 5) per element.
    public init(bits: Int, probes: Int = 3) {
        precondition(bits >= 64 && bits & (bits - 1) == 0 && (1...5).contains(probes))
        words = [UInt64](repeating: 0, count: bits / 64)
        wordMask = UInt64(bits / 64 - 1)
        self.probes = probes
    }

    /// Adds `element`; returns whether it may have been added before.
    @discardableResult
    public mutating func insert(_ element: String) -> Bool { insert(hash: IDHash.of(element)) }

    /// Whether `element` may have been added.
    public func mayContain(_ element: String) -> Bool { mayContain(hash: IDHash.of(element)) }

    /// Adds the element with this 64-bit hash; returns whether it may have been added before.
    @discardableResult
    public mutating func insert(hash: UInt64) -> Bool {
        let (word, flags) = place(hash)
        let seenBefore = words[word] & flags == flags
        words[word] |= flags
        return seenBefore
    }

    /// Whether the element with this 64-bit hash may have been added.
    public func mayContain(hash: UInt64) -> Bool {
        let (word, flags) = place(hash)
        return words[word] & flags == flags
    }

    /// The word the low half of the hash picks, and the bits 6-bit slices of the high half pick in it.
    private func place(_ hash: UInt64) -> (word: Int, flags: UInt64) {
        var flags: UInt64 = 0
        var high = hash >> 32
        for _ in 0..<probes {
            flags |= 1 << (high & 63)
            high >>= 6
        }
        return (Int(hash & wordMask), flags)
    }
}
