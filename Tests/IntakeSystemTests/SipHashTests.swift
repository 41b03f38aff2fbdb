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
}
