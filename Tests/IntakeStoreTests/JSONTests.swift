import IntakeStore
import IntakeSystem
import IntakeTestSupport
import Testing

/// The JSON Intake writes with its own writer (custom attributes, change snapshots, exports) must be exactly
/// what SQLite's JSON functions read back.
@Suite struct JSONTests {
    /// `text` as a JSON string literal, as the writer puts it.
    func literal(_ text: String) -> String {
        var writer = JSONWriter()
        writer.string(text)
        return writer.text
    }

    @Test func writerEscapesNestsAndRoundTripsThroughSQLite() throws {
        let values = [
            "", "plain", #"say "hi""#, #"back\slash"#, "line\nbreak\r\ttab", "\u{01}\u{1F}\u{7F}",
            "Пётр Иванов", "emoji 😀 and NBSP\u{00A0}", "=HYPERLINK(\"x\")", String(repeating: "x\"", count: 300),
        ]
        #expect(literal(#"a"b\c"#) == #""a\"b\\c""#)
        #expect(literal("\n\u{01}") == #""\n\u0001""#)
        #expect(literal("Пётр") == "\"Пётр\"")
        try withTemporaryDirectory { dir in
            let database = try Database(path: dir + "/json.db")
            for value in values {
                let text = literal(value)
                let back = try database.cachedStatement("SELECT json_valid(?1), json_extract(?1, '$')").rows([.text(text)])
                #expect(back == [["1", value]], "\(text)")
            }
            var writer = JSONWriter()
            writer.beginObject()
            for (offset, value) in values.enumerated() {
                writer.key("k\(offset)")
                writer.string(value)
            }
            writer.key(#"quoted "key""#)
            writer.string("v")
            writer.key("none")
            writer.string(nil)
            writer.key("nested")
            writer.beginArray()
            writer.number(-42)
            writer.raw(#"{"a":[]}"#)
            writer.strings(["x", "y"])
            writer.beginObject()
            writer.endObject()
            writer.endArray()
            writer.endObject()
            let object = writer.text

            // JSON Lines: one value a line, no comma between them.
            var lines = JSONWriter()
            lines.strings(["a"])
            lines.endLine()
            lines.beginObject()
            lines.endObject()
            lines.endLine()
            #expect(lines.text == "[\"a\"]\n{}\n")
            #expect(try database.scalar("SELECT json_valid(?1)", [.text(object)]) == 1)
            #expect(try database.cachedStatement("SELECT json_extract(?1, '$.k3'), json_type(?1, '$.none')").rows([.text(object)]) == [[#"back\slash"#, "null"]])
            #expect(try database.cachedStatement("SELECT key FROM json_each(?1) WHERE value = 'v'").rows([.text(object)]) == [[#"quoted "key""#]])
            #expect(try database.cachedStatement("SELECT json_extract(?1, '$.nested')").rows([.text(object)]) == [[#"[-42,{"a":[]},["x","y"],{}]"#]])
        }
    }
}
