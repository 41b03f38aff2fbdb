import IntakeRead
import IntakeValidate
import Testing

@Suite struct FieldRulesTests {
    @Test(arguments: [
        ("user@example.com", "user@example.com"),
        ("  First.Last+news@Example.COM ", "First.Last+news@example.com"),
        ("o'brien@example.ie", "o'brien@example.ie"),
        ("x@example.photography", "x@example.photography"),
        ("иван@пример.рф", "иван@пример.рф"),
        ("Ivan@ПРИМЕР.РФ", "Ivan@пример.рф"),
        ("a_b-c!#$%&*=?^`{|}~@sub.example.co.uk", "a_b-c!#$%&*=?^`{|}~@sub.example.co.uk"),
        ("user@xn--80ak6aa92e.com", "user@xn--80ak6aa92e.com"),
    ])
    func acceptsRealAddresses(_ raw: String, _ stored: String) throws {
        #expect(try FieldRules.email(raw) == stored)
    }

    @Test(arguments: [
        ("plainaddress", "it has no @"),
        ("a@b@example.com", "more than one @"),
        ("@example.com", "nothing before the @"),
        ("user@", "nothing after the @"),
        ("user@localhost", "has no dot"),
        ("user@exa mple.com", "the domain contains"),
        ("us er@example.com", "contains the character U+20"),
        (".user@example.com", "must not lead, trail or repeat"),
        ("us..er@example.com", "must not lead, trail or repeat"),
        ("user@-example.com", "starts or ends with a hyphen"),
        ("user@example..com", "empty label"),
        ("user@example.123", "top-level domain is numeric"),
        (String(repeating: "a", count: 65) + "@example.com", "longer than 64"),
        ("a@" + String(repeating: "b", count: 64) + ".com", "longer than 63"),
        ("a@" + Array(repeating: String(repeating: "b", count: 60), count: 5).joined(separator: ".") + ".com", "longer than 254"),
    ])
    func rejectsBrokenAddresses(_ raw: String, _ reason: String) {
        #expect(throws: FieldError.self) { try FieldRules.email(raw) }
        do { _ = try FieldRules.email(raw) } catch { #expect(error.reason.contains(reason), "\(error.reason)") }
    }

    @Test(arguments: [
        ("+7 (900) 123-45-67", "+79001234567"),
        ("8.900.123.45.67", "89001234567"),
        ("12345", "12345"),
        ("+123456789012345", "+123456789012345"),
        ("79001234567", "79001234567"),
        ("  +7 900 123 45 67", "+79001234567"),
        ("(+49) 30 1234567", "+49301234567"),
    ])
    func normalizesPhones(_ raw: String, _ stored: String) throws {
        #expect(try FieldRules.phone(raw) == stored)
    }

    @Test(arguments: [
        ("1234", "has 4 digits"),
        ("1234567890123456", "has 16 digits"),
        ("+7 900 CALL ME", "\"C\" is not allowed"),
        ("7+9001234567", "\"+\" is not allowed"),
        // A sign only leads: not after a dash, not twice.
        ("-+79001234567", "\"+\" is not allowed"),
        ("++79001234567", "\"+\" is not allowed"),
        ("7 (+900) 123 45 67", "\"+\" is not allowed"),
        ("ext. 12345#", "\"e\" is not allowed"),
    ])
    func rejectsBrokenPhones(_ raw: String, _ reason: String) {
        do {
            _ = try FieldRules.phone(raw)
            Issue.record("accepted \(raw)")
        } catch { #expect(error.reason.contains(reason), "\(error.reason)") }
    }

    @Test(arguments: [
        ("2018-01-01 00:11:22", "2018-01-01 00:11:22"),
        ("2018-01-01T00:11:22", "2018-01-01 00:11:22"),
        ("2018-01-01T00:11:22Z", "2018-01-01 00:11:22"),
        ("2018-01-01T00:11:22.123456Z", "2018-01-01 00:11:22"),
        ("2018-01-01T03:11:22+03:00", "2018-01-01 00:11:22"),
        ("2018-01-01T02:11:22+0200", "2018-01-01 00:11:22"),
        ("2017-12-31T19:11:22-05:00", "2018-01-01 00:11:22"),
        ("2018-01-01", "2018-01-01 00:00:00"),
        ("2024-02-29 12:00", "2024-02-29 12:00:00"),
        (" 2018-01-01 00:11:22 ", "2018-01-01 00:11:22"),
    ])
    func parsesTimestamps(_ raw: String, _ stored: String) throws {
        #expect(try TimestampParser.parse(raw) == stored)
    }

    @Test(arguments: [
        ("2023-02-30", "2023-02 has 28 days"),
        ("2023-02-29 10:00:00", "2023-02 has 28 days"),
        ("2023-13-01", "impossible month 13"),
        ("2023-01-01 24:00:00", "impossible time"),
        ("01.02.2023", "use YYYY-MM-DD HH:MM:SS"),
        ("2023-01-01 10:00:00 UTC", "use YYYY-MM-DD HH:MM:SS"),
        ("yesterday", "use YYYY-MM-DD HH:MM:SS"),
    ])
    func rejectsBrokenTimestamps(_ raw: String, _ reason: String) {
        do {
            _ = try TimestampParser.parse(raw)
            Issue.record("accepted \(raw)")
        } catch { #expect(error.reason.contains(reason), "\(error.reason)") }
    }

    @Test func externalIDs() throws {
        #expect(try FieldRules.externalID("  C-1 ") == "C-1")
        #expect(throws: FieldError.self) { try FieldRules.externalID("   ") }
        #expect(throws: FieldError.self) { try FieldRules.externalID(String(repeating: "x", count: 256)) }
        #expect(try FieldRules.externalID(String(repeating: "x", count: 255)).count == 255)
    }
}

@Suite struct ColumnMapTests {
    @Test func matchesTrimmedAndCaseInsensitively() throws {
        let map = try ColumnMap(header: [" External_ID ", "EMAIL", "Name", "phone", "created_at", " City ", "Loyalty Tier"])
        #expect(map.required[.externalID] == 0)
        #expect(map.required[.createdAt] == 4)
        #expect(map.attributes.map(\.key) == ["City", "Loyalty Tier"])
        #expect(map.attributes.map(\.index) == [5, 6])
    }

    @Test func missingColumnsListWhatWasFound() {
        #expect(throws: ColumnError(message: #"missing required columns: phone, created_at (found: "external_id", "email", "name", "city")"#)) {
            try ColumnMap(header: ["external_id", "email", "name", "city"])
        }
    }

    @Test func emptyAndDuplicatedNames() {
        #expect(throws: ColumnError(message: #"column C has no name; every column needs a header (found: "external_id", "email", "", "name", "phone", "created_at")"#)) {
            try ColumnMap(header: ["external_id", "email", " ", "name", "phone", "created_at"])
        }
        #expect(throws: ColumnError.self) { try ColumnMap(header: ["external_id", "email", "name", "phone", "created_at", "Email"]) }
        do {
            _ = try ColumnMap(header: ["external_id", "email", "name", "phone", "created_at", "city", "City"])
        } catch {
            #expect(error.message.hasPrefix("the column \"City\" appears twice, in columns F and G"))
        }
    }

    @Test func aliasesMapOntoRequiredColumnsAndAttributes() throws {
        let map = try ColumnMap(
            header: ["ID клиента", "E-mail", "ФИО", "Телефон", "Дата", "Город"],
            aliases: ["id клиента": "external_id", "e-mail": "email", "фио": "name", "ТЕЛЕФОН": "phone", "Дата": "created_at", "Город": "city"]
        )
        #expect(map.required[.phone] == 3)
        #expect(map.attributes.map(\.key) == ["city"])
    }
}

@Suite struct RowValidatorTests {
    let validator = RowValidator(columns: try! ColumnMap(header: ["external_id", "email", "name", "phone", "created_at", "city", "note"]))

    func row(_ cells: [String], problem: String? = nil) -> SourceRow { SourceRow(number: 7, cells: cells, problem: problem) }

    @Test func validRowBecomesARecord() throws {
        let record = try validator.validate(row([" C-1 ", "A@Example.com", " Ann ", "+7 900 123-45-67", "2018-01-01 00:11:22", "Москва", ""])).get()
        #expect(record == CustomerRecord(externalID: "C-1", email: "A@example.com", name: "Ann", phone: "+79001234567",
                                         createdAt: "2018-01-01 00:11:22", attributes: [("city", "Москва")]))
    }

    @Test func emptyCellsAreNotGiven() throws {
        let record = try validator.validate(row(["C-2", "", "", " ", "", "", ""])).get()
        #expect(record == CustomerRecord(externalID: "C-2"))
    }

    @Test func rejectionsNameColumnAndValue() {
        let cases: [([String], String?, String)] = [
            (["", "a@b.co", "n", "", "", "", ""], "external_id", "external_id is empty; every row needs one"),
            (["C", "nope", "n", "", "", "", ""], "email", #"email "nope" is not an email address: it has no @"#),
            (["C", "", "n", "12", "", "", ""], "phone", #"phone "12" is not a phone number: it has 2 digits, a phone number has 5 to 15"#),
            (["C", "", "n", "", "2023-02-30", "", ""], "created_at", #"created_at "2023-02-30" is not a real date: 2023-02 has 28 days"#),
        ]
        for (cells, column, message) in cases {
            guard case .failure(let rejection) = validator.validate(row(cells)) else { Issue.record("accepted \(cells)"); continue }
            #expect(rejection.column == column)
            #expect(rejection.message == message)
        }
    }

    @Test func readerProblemsRejectTheRow() {
        guard case .failure(let rejection) = validator.validate(row(["C", "", "", "", "", ""], problem: "has 6 fields, the header has 7")) else {
            Issue.record("accepted"); return
        }
        #expect(rejection.message == "row has 6 fields, the header has 7")
    }
}

@testable import IntakeValidate

@Suite struct EmailFastPathTests {
    /// The ASCII fast path may only accept what the full check accepts, with the same result.
    @Test func fastPathAgreesWithTheFullCheck() {
        var state: UInt64 = 42
        let alphabet = Array("ab.Z-9@+_'..@-x.com\"(),;<> ".utf8)
        for _ in 0..<20_000 {
            var bytes: [UInt8] = []
            let length = 3 + Int(state % 20)
            for _ in 0..<length {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                bytes.append(alphabet[Int(state >> 33) % alphabet.count])
            }
            let text = String(decoding: bytes, as: UTF8.self)
            // email() tries the fast path first, so compare with what the full check alone decides.
            if let fast = FieldRules.asciiEmail(text) {
                #expect((try? FieldRules.fullEmailCheck(text)) == fast, "\(text)")
            }
        }
        for address in ["a@b.co", "First.Last+tag@Example.COM", "o'brien@x-y.ie", "a@b.c0m"] {
            #expect(FieldRules.asciiEmail(address) != nil, "\(address)")
        }
        for address in ["a@b", "a@-b.co", "a@b-.co", "a..b@c.co", "a@b.123", ".a@b.co", "a.@b.co", "a@b..co"] {
            #expect(FieldRules.asciiEmail(address) == nil, "\(address)")
        }
    }
}

@Suite struct TrimmingTests {
    /// The byte-level fast path decides "nothing to trim" only where no Unicode white space can be.
    @Test(arguments: [
        ("Анна Петрова", "Анна Петрова"),
        ("José", "José"),
        ("\u{00A0}Анна\u{00A0}", "Анна"),
        ("\u{3000}山田\u{3000}", "山田"),
        ("\u{2003}Ann\u{2009}", "Ann"),
        ("\tÉmile ", "Émile"),
        ("Ann\u{1680}", "Ann"),
        ("\u{2028}x\u{205F}", "x"),
        ("\u{00E9}\u{0085}", "\u{00E9}"),
        ("€ 5", "€ 5"),
        ("  ", ""),
        ("", ""),
    ])
    func trimsUnicodeWhiteSpaceOnly(_ raw: String, _ expected: String) {
        #expect(raw.trimmed == expected)
    }

    /// Every scalar the fast path calls "not white space" really is not, for all of the BMP.
    @Test func fastPathNeverHidesWhiteSpace() {
        for value in 0x21...0xFFFF {
            guard let scalar = Unicode.Scalar(value) else { continue }
            for text in ["a" + String(Character(scalar)), String(Character(scalar)) + "a"] {
                let expected = scalar.properties.isWhitespace ? "a" : text
                #expect(text.trimmed == expected, "U+\(String(value, radix: 16))")
                if text.trimmed != expected { return }
            }
        }
    }

    @Test func normalValuesComeBackAsGiven() throws {
        #expect(try FieldRules.phone("+79000000000") == "+79000000000")
        #expect(try FieldRules.phone("79000000000") == "79000000000")
        #expect(try FieldRules.phone("+7 900 000") == "+7900000")
        #expect(try FieldRules.email("customer0@example0.com") == "customer0@example0.com")
        #expect(try FieldRules.email("Customer0@Example0.COM") == "Customer0@example0.com")
    }
}
