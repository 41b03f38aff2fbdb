import IntakeSystem
import Testing

/// The request-body JSON parser: RFC 8259 strictness, member order and number text kept, and
/// errors that say where.
@Suite struct JSONReaderTests {
    func parse(_ text: String) throws(JSONSyntaxError) -> JSONValue { try JSONReader.parse(Array(text.utf8)) }

    @Test func keepsMemberOrderNumberTextAndEscapes() throws {
        let value = try parse(#" {"z": 1, "a": [true, false, null], "n": -0.50e+3, "s": "a\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"} "#)
        guard case .object(let members) = value else { Issue.record("not an object"); return }
        #expect(members.map(\.key) == ["z", "a", "n", "s"])
        #expect(value["n"] == .number("-0.50e+3"))
        #expect(value["a"] == .array([.bool(true), .bool(false), .null]))
        #expect(value["s"] == .string("a\"\\/\u{8}\u{c}\n\r\té😀"))
    }

    @Test(arguments: [
        ("{\"a\":1,}", 1, 8, "expected a member name"),
        ("{\"a\":1 \"b\":2}", 1, 8, "expected ','"),
        ("[01]", 1, 3, "expected ','"),
        ("{\"a\":1,\"a\":2}", 1, 8, "duplicate member name"),
        ("\"\\x\"", 1, 2, "invalid escape"),
        ("\"\\ud800\"", 1, 8, "unpaired surrogate"),
        ("{\n  \"a\": tru }", 2, 8, "invalid literal"),
        ("1.", 1, 3, "digits must follow"),
        ("{} x", 1, 4, "unexpected data"),
        ("\"a\u{1}\"", 1, 3, "control character"),
    ])
    func refusesMalformedTextAndSaysWhere(text: String, line: Int, column: Int, message: String) {
        do {
            _ = try parse(text)
            Issue.record("\(text) parsed")
        } catch {
            #expect(error.line == line && error.column == column, "\(error)")
            #expect(error.message.contains(message), "\(error)")
        }
    }

    @Test func refusesInvalidUTF8AndDeepNesting() {
        #expect(throws: JSONSyntaxError.self) { try JSONReader.parse([0x22, 0xC3, 0x28, 0x22]) }
        let deep = String(repeating: "[", count: JSONReader.maxDepth + 1) + String(repeating: "]", count: JSONReader.maxDepth + 1)
        #expect(throws: JSONSyntaxError.self) { try parse(deep) }
        let fine = String(repeating: "[", count: JSONReader.maxDepth) + String(repeating: "]", count: JSONReader.maxDepth)
        #expect((try? parse(fine)) != nil)
    }
}
