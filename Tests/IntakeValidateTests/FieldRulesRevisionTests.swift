import IntakeRead
import IntakeValidate
import Testing

/// What the field rules make of a fixed set of awkward cells, fingerprinted: a change to the rules
/// changes the fingerprint, and this test fails until `FieldRules.revision` is bumped (stored row
/// digests depend on it) and the fingerprint below is updated.
@Suite struct FieldRulesRevisionTests {
    static let rows: [[String]] = [
        ["  A-1 ", "Ann@Example.COM", " Ann  Lee ", "+7 (900) 123-45-67", "2018-01-01 00:11:22", "gold"],
        ["B", "björn@bücher.example", "Björn", "8 900 123 45 67", "2018-01-01T00:11:22.5+03:00", ""],
        ["C", "o'brien+tag@sub.example.co.uk", "O'Brien", "00 44 20 7946 0958", "2018-01-01", " x "],
        ["D", "Иван@пример.рф", "Иван", "+1-555-010-0100 ext. 7", "2018-01-01T00:11:22Z", "ü"],
        ["E", "not-an-email", "E", "12ab", "2023-02-30 00:00:00", ""],
        ["", "", "", "", "", ""],
        ["F\u{301}", "a@b.c", "\u{00A0}name\u{2003}", "+", "9999-12-31 23:59:59", "\"q\""],
    ]

    @Test func theRulesFingerprintNamesTheirRevision() throws {
        let validator = RowValidator(columns: try ColumnMap(header: ["external_id", "email", "name", "phone", "created_at", "tier"]))
        var outputs: [String] = []
        for (n, cells) in Self.rows.enumerated() {
            switch validator.validate(SourceRow(number: n + 2, cells: cells)) {
            case .success(let r):
                outputs.append([r.externalID, r.email ?? "-", r.name ?? "-", r.phone ?? "-", r.createdAt ?? "-"].joined(separator: "|")
                               + "|" + r.attributes.map { "\($0.key)=\($0.value)" }.joined(separator: ","))
            case .failure(let rejection):
                outputs.append("rejected \(rejection.column ?? "-"): \(rejection.message)")
            }
        }
        // FNV-1a over the outputs: stable across processes, unlike Swift's Hasher.
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in outputs.joined(separator: "\n").utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        let fingerprint = String(hash, radix: 16)
        #expect((FieldRules.revision, fingerprint) == (1, "60a2ca6f8ce79153"), """
            The field rules' output changed. Bump FieldRules.revision and set this test's expected pair to \
            (the new revision, "\(fingerprint)"). Outputs:
            \(outputs.joined(separator: "\\n"))
            """)
    }
}
