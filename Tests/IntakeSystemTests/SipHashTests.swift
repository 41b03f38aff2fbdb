import IntakeSystem
import Testing

@Suite struct SipHashTests {
    /// The reference implementation's vectors: key 00 01 … 0f, messages 00 01 … of each length.
    @Test func matchesTheReferenceVectors() {
        let key = (0..<16).map(UInt8.init)
        let k0 = key.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 0, as: UInt64.self) }
        let k1 = key.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self) }
        func hash(_ count: Int) -> UInt64 {
            var hasher = SipHash24(k0: k0, k1: k1)
            (0..<count).map(UInt8.init).withUnsafeBytes { hasher.update($0) }
            return hasher.finalize()
        }
        #expect(hash(0) == 0x726f_db47_dd0e_0e31)
        #expect(hash(15) == 0xa129_ca61_49be_45e5)
        #expect(hash(63) == 0x958a_324c_eb06_4572)
    }

    @Test func feedingInPiecesGivesTheSameHashAndACopyContinues() {
        let bytes = (0..<200).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        var whole = SipHash24(k0: 1, k1: 2)
        bytes.withUnsafeBytes { whole.update($0) }
        for cut in [1, 3, 8, 13, 64, 199] {
            var parts = SipHash24(k0: 1, k1: 2)
            bytes[..<cut].withUnsafeBytes { parts.update($0) }
            let copy = parts
            bytes[cut...].withUnsafeBytes { parts.update($0) }
            #expect(parts.finalize() == whole.finalize(), "cut at \(cut)")
            var continued = copy
            bytes[cut...].withUnsafeBytes { continued.update($0) }
            #expect(continued.finalize() == whole.finalize())
        }
        var other = SipHash24(k0: 1, k1: 3)
        bytes.withUnsafeBytes { other.update($0) }
        #expect(other.finalize() != whole.finalize(), "another key, another hash")
    }

    /// A 32-bit word (a cell's length) feeds its four bytes, little-endian, wherever the bytes
    /// before it left the last partial word.
    @Test func aWordFeedsItsFourBytesAtEveryOffset() {
        let value: UInt32 = 0xA1B2_C3D4
        let asBytes: [UInt8] = [0xD4, 0xC3, 0xB2, 0xA1]
        for lead in 0..<17 {
            var word = SipHash24(k0: 5, k1: 6)
            var bytes = word
            let before = (0..<lead).map { UInt8(truncatingIfNeeded: $0 &+ 100) }
            before.withUnsafeBytes { word.update($0); bytes.update($0) }
            word.update(value)
            asBytes.withUnsafeBytes { bytes.update($0) }
            #expect(word.finalize() == bytes.finalize(), "after \(lead) bytes")
            let after: [UInt8] = [1, 2, 3, 4, 5, 6, 7, 8, 9]
            after.withUnsafeBytes { word.update($0); bytes.update($0) }
            #expect(word.finalize() == bytes.finalize(), "after \(lead) bytes, then more")
        }
    }
}
