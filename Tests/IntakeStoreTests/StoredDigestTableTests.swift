@testable import IntakeStore
import IntakeTestSupport
import Testing

/// The digests in memory answer only what they know for certain and leave the rest to the cursor:
/// a hash several stored ids share, and a row whose digest is the value kept for "no digest".
@Suite struct StoredDigestTableTests {
    @Test func answersWhatItKnowsAndLeavesTheRest() {
        var generator = SplitMix64(seed: 7)
        // Hashes spread like IDHash's, and some placed at the edges of the hash range and of
        // the table's buckets.
        var pairs: [(hash: UInt64, digest: Int64?)] = (0..<20_000).map { i in (generator.next(), i % 7 == 0 ? nil : Int64(i)) }
        pairs += [(0, 11), (.max, 12), (1 << 48, 13), ((1 << 48) - 1, 14)]
        // Two stored ids with one hash.
        pairs += [(42, 1), (42, 2)]
        let table = StoredDigestTable(pairs: pairs.shuffled(using: &generator))
        #expect(table.count == pairs.count)

        for (hash, digest) in pairs where hash != 42 {
            if let digest {
                #expect(table.lookUp(hash: hash, digest: digest) == .sameDigest)
                #expect(table.lookUp(hash: hash, digest: digest &+ 1) == .differs(exists: true))
            } else {
                // Stored without a digest: no row's digest matches it.
                #expect(table.lookUp(hash: hash, digest: 5) == .differs(exists: true))
            }
            // A row whose digest is the value kept for "none" is left to the cursor.
            #expect(table.lookUp(hash: hash, digest: .min) == nil)
        }
        #expect(table.lookUp(hash: 42, digest: 1) == nil)
        #expect(table.lookUp(hash: 42, digest: 3) == nil)
        let stored = Set(pairs.map(\.hash))
        for _ in 0..<20_000 {
            let hash = generator.next()
            if !stored.contains(hash) { #expect(table.lookUp(hash: hash, digest: 1) == .differs(exists: false)) }
        }
        for hash: UInt64 in [1, 43, .max - 1, 1 << 48 + 1] where !stored.contains(hash) {
            #expect(table.lookUp(hash: hash, digest: 11) == .differs(exists: false))
        }
    }

    @Test func anEmptyTableHasNobody() {
        let table = StoredDigestTable(pairs: [])
        #expect(table.lookUp(hash: 0, digest: 0) == .differs(exists: false))
        #expect(table.lookUp(hash: .max, digest: 0) == .differs(exists: false))
    }
}
