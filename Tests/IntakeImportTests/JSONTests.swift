import IntakeStore
import IntakeSystem
import IntakeTestSupport
import Testing

/// The JSON Intake writes by hand (custom attributes, change snapshots, exports) must be exactly
/// what SQLite's JSON functions read back.
@Suite struct JSONTests {
    @Test func escapesAndRoundTripsThroughSQLite() throws {
        let values = [
            "", "plain", #"say "hi""#, #"back\slash"#, "line\nbreak\r\ttab", "\u{01}\u{1F}\u{7F}",
            "Пётр Иванов", "emoji 😀 and NBSP\u{00A0}", "=HYPERLINK(\"x\")", String(repeating: "x\"", count: 300),
        ]
        #expect(JSON.string(#"a"b\c"#) == #""a\"b\\c""#)
        #expect(JSON.string("\n\u{01}") == #""\n\u0001""#)
        #expect(JSON.string("Пётр") == "\"Пётр\"")
        try withTemporaryDirectory { dir in
            let database = try Database(path: dir + "/json.db")
            for value in values {
                let literal = JSON.string(value)
                let back = try database.prepare("SELECT json_valid(?1), json_extract(?1, '$')").rows([.text(literal)])
                #expect(back == [["1", value]], "\(literal)")
            }
            let object = JSON.object(values.enumerated().map { ("k\($0.offset)", $0.element) } + [(#"quoted "key""#, "v"), ("none", nil)])
            #expect(try database.scalar("SELECT json_valid(?1)", [.text(object)]) == 1)
            #expect(try database.prepare("SELECT json_extract(?1, '$.k3'), json_type(?1, '$.none')").rows([.text(object)]) == [[#"back\slash"#, "null"]])
            #expect(try database.prepare("SELECT key FROM json_each(?1) WHERE value = 'v'").rows([.text(object)]) == [[#"quoted "key""#]])
        }
    }
}
