@testable import IntakeStore
import IntakeTestSupport
import Testing

/// The stored customers in memory say yes exactly to a customer stored with that digest, and no
/// to everything else: other digests, customers stored without one, ids nobody has, ids that
/// share a hash.
@Suite struct StoredDigestTableTests {
    @Test func knowsEachStoredCustomerWithItsDigestAndNothingElse() {
        var generator = SplitMix64(seed: 7)
        // Hashes spread like IDHash's, some at the edges of the hash range and of the buckets,
        // two ids with one hash, and every seventh customer stored without a digest.
        var pairs: [(hash: UInt64, digest: Int64?)] = (0..<20_000).map { i in (generator.next(), i % 7 == 0 ? nil : Int64(i)) }
        pairs += [(0, 11), (.max, 12), (1 << 48, 13), ((1 << 48) - 1, .min), (42, 1), (42, 2), (0, 0)]
        let table = StoredDigestTable(pairs: pairs.shuffled(using: &generator))
        #expect(table.count == pairs.filter { $0.digest != nil }.count)

        // (Answers are taken into locals first: a failed expectation would print the table.)
        var wrong: [String] = []
        for (hash, digest) in pairs where hash != 42 {
            if let digest {
                if !table.contains(idHash: hash, digest: digest) { wrong.append("\(hash) \(digest) missing") }
                if table.contains(idHash: hash, digest: digest &+ 1) { wrong.append("\(hash) \(digest &+ 1) found") }
                if table.contains(idHash: hash &+ 1, digest: digest) { wrong.append("\(hash &+ 1) \(digest) found") }
            } else {
                if table.contains(idHash: hash, digest: 0) || table.contains(idHash: hash, digest: .min) { wrong.append("\(hash) without a digest found") }
            }
        }
        let sharedHash = (table.contains(idHash: 42, digest: 1), table.contains(idHash: 42, digest: 2), table.contains(idHash: 42, digest: 3))
        #expect(sharedHash == (true, true, false))
        let stored = Set(pairs.map(\.hash))
        for _ in 0..<20_000 {
            let hash = generator.next()
            if !stored.contains(hash) && table.contains(idHash: hash, digest: 1) { wrong.append("\(hash) never stored found") }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(10))")
    }

    @Test func anEmptyTableKnowsNobody() {
        let table = StoredDigestTable(pairs: [(5, nil)])
        let answers = (table.count, table.contains(idHash: 0, digest: 0), table.contains(idHash: 5, digest: .min))
        #expect(answers == (0, false, false))
    }
}
