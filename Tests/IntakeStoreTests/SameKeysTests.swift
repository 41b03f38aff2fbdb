@testable import IntakeStore
import IntakeTestSupport
import Testing

/// The attribute merge takes the patch's own text, without asking SQLite, only where SQLite's
/// `json_patch` gives exactly that text: held here against SQLite itself, on chosen cases and
/// on thousands of generated ones.
@Suite struct SameKeysTests {
    /// SQLite's merge of `patch` into `target`, or nil when it refuses them.
    static func jsonPatch(_ db: Database, _ target: String, _ patch: String) -> String? {
        try? db.cachedStatement("SELECT json_patch(?1, ?2)").rows([.text(target), .text(patch)]).first?.first ?? nil
    }

    /// An object of `count` members `k0`, `k1`, … all of `value`.
    static func members(_ count: Int, value: String = "1") -> String {
        "{" + (0..<count).map { #""k\#($0)":"\#(value)""# }.joined(separator: ",") + "}"
    }

    @Test(arguments: [
        (#"{"a":"1","b":"2"}"#, #"{"a":"0","b":"0"}"#, true),
        (#"{"город":"Москва","tier":"gold"}"#, #"{ "город" : "Минск" ,"tier":"bronze" }"#, true),
        (#"{"a":"line\none \"quoted\" \u00e9"}"#, #"{"a":"x"}"#, true),
        (#"{"a":"1"}"#, #"{"a":0}"#, false),
        (#"{"a":"1","b":"2"}"#, #"{"b":"0","a":"0"}"#, false),
        (#"{"a":"1"}"#, #"{"a":"0","b":"0"}"#, false),
        (#"{"a":"1","b":"2"}"#, #"{"a":"0"}"#, false),
        (#"{"a": "1"}"#, #"{"a":"0"}"#, false),
        (#"{"a":"1","a":"2"}"#, #"{"a":"0","a":"0"}"#, false),
        (#"{"\u0061":"1"}"#, #"{"\u0061":"0"}"#, false),
        (#"{"a":null}"#, #"{"a":"0"}"#, false),
        ("{\"a\":\"tab\there\"}", #"{"a":"0"}"#, false),
        (#"{"a":"1"}"#, #"{"a":"\x41"}"#, false),
        (#"{"a":"1"}"#, #"{"a":"0"} x"#, false),
        (#"{"a":"1"}"#, "{}", false),
        ("{\"a\":\"\u{7F}\"}", "{\t\"a\"\r\n:\"\u{7F}0\"}", true),
        (#"{"a":"\u00E9"}"#, #"{"a":"\u00e9"}"#, true),
        (#"{"a":"1"}"#, "{\u{0C}\"a\":\"0\"}", false),
        (#"{"a":"1"}"#, "{\u{0B}\"a\":\"0\"}", false),
        (#"{"a":"1"}"#, #"["a"]"#, false),
        (#"{"a":"1"}"#, #""a""#, false),
        (#"{"a":{"b":"1"}}"#, #"{"a":{"b":"0"}}"#, false),
        (members(64), members(64, value: "0"), true),
        (members(65), members(65, value: "0"), false),
    ] as [(String, String, Bool)])
    func chosenCases(_ patch: String, _ target: String, _ same: Bool) throws {
        #expect(SameKeys.merge(of: patch, into: target) == same)
        if same {
            let db = try Database(path: ":memory:")
            #expect(String.sameBytes(Self.jsonPatch(db, target, patch), patch))
        }
    }

    @Test func generatedCasesAgreeWithSQLite() throws {
        let db = try Database(path: ":memory:")
        var random = SplitMix64(seed: 7)
        let keys = ["a", "b", "name", "город", "x y", #"q\"k"#, #"\u0062"#, "", "ключ 2"]
        let values = [#""""#, #""1""#, #""Москва""#, #""a\nb""#, #""\"q\"""#, #""\u00e9\/""#, #""\x41""#, "\"t\tb\"", "0", "null", "true", #"{"n":"1"}"#]
        // Between tokens: nothing, or JSON's whitespace (a patch with any is written by someone else).
        let gaps = [" ", "\t", "\n", "\r\n", "  "]
        func object(_ members: [(String, String)], spaced: Bool) -> String {
            var generator = random
            let gap = spaced ? gaps.randomElement(using: &generator)! : ""
            return "{" + gap + members.map { "\"\($0.0)\"" + gap + ":" + gap + $0.1 }.joined(separator: "," + gap) + gap + "}"
        }
        var agreed = 0, sent = 0
        for _ in 0..<20_000 {
            let names = (0..<Int.random(in: 1...4, using: &random)).map { _ in keys.randomElement(using: &random)! }
            let patch = object(names.map { ($0, values.randomElement(using: &random)!) }, spaced: Int.random(in: 0..<8, using: &random) == 0)
            var targetNames = names
            switch Int.random(in: 0..<6, using: &random) {
            case 0: targetNames.shuffle(using: &random)
            case 1: targetNames.append(keys.randomElement(using: &random)!)
            case 2: targetNames.removeLast()
            default: break
            }
            let target = object(targetNames.map { ($0, values.randomElement(using: &random)!) }, spaced: Int.random(in: 0..<3, using: &random) == 0)
            guard SameKeys.merge(of: patch, into: target) else { continue }
            sent += 1
            let merged = Self.jsonPatch(db, target, patch)
            #expect(String.sameBytes(merged, patch), "json_patch(\(target), \(patch)) = \(merged ?? "an error")")
            if String.sameBytes(merged, patch) { agreed += 1 }
        }
        // Enough cases took the shortcut for the agreement to mean something.
        #expect(sent > 400 && agreed == sent, "\(agreed) of \(sent)")
    }
}
