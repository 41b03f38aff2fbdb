import IntakeSystem
import Testing

/// `String.sameBytes` decides "unchanged" for every stored value, so it must tell apart what a
/// database tells apart, and nothing else.
@Suite struct SameBytesTests {
    @Test func comparesBytesNotCanonicalEquivalence() {
        let precomposed = "Zo\u{00EB}", decomposed = "Zoe\u{0308}"
        #expect(precomposed == decomposed) // Swift's ==
        #expect(!String.sameBytes(precomposed, decomposed))
        #expect(String.sameBytes(precomposed, "Zo" + "\u{00EB}"))
    }

    @Test func nilIsNullAndEmptyIsText() {
        #expect(String.sameBytes(nil, nil))
        #expect(!String.sameBytes(nil, ""))
        #expect(!String.sameBytes("", nil))
        #expect(String.sameBytes("", ""))
    }

    /// Small strings live inline and large ones on the heap, and a String bridged from a
    /// substring or built piecewise may be either; all compare by their bytes.
    @Test func everyStorageComparesTheSame() {
        let long = String(repeating: "ä", count: 40) + "{\"tier\":\"gold\"}"
        let built = String(repeating: "ä", count: 40) + "{\"tier\":\"go" + "ld\"}"
        #expect(String.sameBytes(long, built))
        #expect(!String.sameBytes(long, String(built.dropLast()) + "]"))
        #expect(String.sameBytes("short", String("a short".dropFirst(2))))
        #expect(!String.sameBytes("short", "shorT"))
        #expect(!String.sameBytes("abc", "abcd"))
    }
}
