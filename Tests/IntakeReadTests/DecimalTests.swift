@testable import IntakeRead
import Testing

/// Date cells convert their serial number without `Double(String)`; the result must be the very
/// double strtod gives, or the fast path must step aside.
@Suite struct DecimalTests {
    @Test func fastPathIsBitForBitStrtod() {
        var state: UInt64 = 7
        func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state >> 11
        }
        var taken = 0
        for _ in 0..<200_000 {
            let integerDigits = Int(next() % 8)
            let fractionDigits = Int(next() % 20)
            var text = next() % 5 == 0 ? "-" : ""
            text += integerDigits == 0 ? "0" : String(next() % UInt64(pow10(integerDigits)))
            if fractionDigits > 0 {
                text += "." + String((0..<fractionDigits).map { _ in Character(String(next() % 10)) })
            }
            let reference = Double(text)!
            if let fast = CellText.decimal(Array(text.utf8)) {
                taken += 1
                #expect(fast.bitPattern == reference.bitPattern, "\(text)")
                if fast.bitPattern != reference.bitPattern { return }
            }
        }
        // Serial dates as spreadsheets write them (up to 17 significant digits) mostly qualify.
        #expect(taken > 100_000)
        #expect(CellText.decimal(Array("43101.09165509259".utf8)) == 43101.09165509259)
    }

    @Test func anythingElseStepsAside() {
        for text in ["", "-", ".", "1E3", "1e-3", "1.2.3", "--1", "1-", " 1", "0x10", "12345678901234567890", "43101.008333333331"] {
            #expect(CellText.decimal(Array(text.utf8)) == nil, "\(text)")
        }
        #expect(CellText.decimal(Array("5.".utf8)) == 5)
        #expect(CellText.decimal(Array("-0".utf8))?.sign == .minus)
    }

    private func pow10(_ n: Int) -> Int { (0..<n).reduce(1) { product, _ in product * 10 } }
}
