@testable import IntakeStore
import Testing

/// The filters tell the writer which rows need a lookup: a "no" must be true, and "maybe" for
/// an element never added must stay rare at the load the writer gives them (a million ids in
/// 2^24 bits; here the same load, scaled down).
@Suite struct BloomFilterTests {
    @Test func neverDeniesAnAddedElementAndRarelyClaimsAnother() {
        var filter = BloomFilter(bits: 1 << 22)
        let added = 250_000
        for i in 0..<added { filter.insert("C\(i)") }
        #expect((0..<added).allSatisfy { filter.mayContain("C\($0)") })
        #expect((0..<added).allSatisfy { filter.mayContain(hash: IDHash.of("C\($0)")) })
        let falseAnswers = (0..<added).filter { filter.mayContain("D\($0)") }.count
        #expect(Double(falseAnswers) / Double(added) < 0.01, "\(falseAnswers) false answers")
    }

    @Test func insertSaysWhetherTheElementMayHaveBeenAddedBefore() {
        var filter = BloomFilter(bits: 1 << 16, probes: 4)
        let first = filter.insert("A")
        let second = filter.insert("A")
        let byHash = filter.insert(hash: IDHash.of("A"))
        #expect(!first && second && byHash)
    }
}
