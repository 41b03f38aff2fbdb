@testable import IntakeRead
import Testing

/// The reader's own UTF-8 check must agree with the standard library's on every input.
@Suite struct UTF8ValidationTests {
    func agrees(_ bytes: [UInt8]) -> Bool {
        let ours = bytes.withUnsafeBufferPointer(UTF8Validation.isValid)
        return ours == (String(validating: bytes, as: UTF8.self) != nil)
    }

    @Test func edgeCases() {
        let cases: [[UInt8]] = [
            [], Array("plain ascii, longer than one word".utf8), Array("Пётр Smith 😀".utf8),
            [0xC0, 0xAF], [0xC1, 0xBF], [0xE0, 0x80, 0xAF], [0xF0, 0x80, 0x80, 0xAF], // overlong
            [0xED, 0xA0, 0x80], [0xED, 0xBF, 0xBF], [0xED, 0x9F, 0xBF], // surrogates; U+D7FF is fine
            [0xF4, 0x8F, 0xBF, 0xBF], [0xF4, 0x90, 0x80, 0x80], [0xF5, 0x80, 0x80, 0x80], // U+10FFFF and past
            [0xD0], [0xE2, 0x82], [0xF0, 0x9F, 0x98], Array("abcdefg".utf8) + [0xD0], // truncated, also after a word
            [0x80], [0xBF], [0xFE], [0xFF], Array("12345678".utf8) + [0xE2, 0x28, 0xA1],
        ]
        for bytes in cases { #expect(agrees(bytes), "\(bytes)") }
        #expect(!([0xED, 0xA0, 0x80] as [UInt8]).withUnsafeBufferPointer(UTF8Validation.isValid))
        #expect(Array("Пётр 😀".utf8).withUnsafeBufferPointer(UTF8Validation.isValid))
    }

    /// Random byte strings biased towards UTF-8 lead and continuation bytes, from a fixed seed.
    @Test func randomInputsAgreeWithTheStandardLibrary() {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        let alphabet: [UInt8] = [0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC2, 0xDF, 0xE0, 0xE1, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF]
        var valid = 0
        var disagreements: [[UInt8]] = []
        for _ in 0..<50_000 {
            let bytes = (0..<Int(next() % 12)).map { _ in alphabet[Int(next() % UInt64(alphabet.count))] }
            if !agrees(bytes) { disagreements.append(bytes) }
            if String(validating: bytes, as: UTF8.self) != nil { valid += 1 }
        }
        #expect(disagreements.isEmpty, "\(disagreements.prefix(5))")
        #expect(valid > 1_000, "the generator must produce valid sequences too")
    }
}
