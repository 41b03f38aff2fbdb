@testable import IntakeStore
import IntakeTestSupport
import Testing

/// The digest lookups of an import walk one cursor through the customers table; whatever the
/// file's order (sorted, reversed, shuffled, with gaps, repeats and ids nobody has), each answer
/// must be what a search of its own gives, and the stored row read where the cursor stands must
/// be that customer's.
@Suite struct StoredRowCursorTests {
    /// Ids whose byte order differs from Swift's `<` and from numeric order: a prefix, digits of
    /// different lengths, upper before lower case, a precomposed and a decomposed "é".
    static let awkward = ["A", "AB", "Ab", "a", "9", "10", "100", "Z", "caf\u{E9}", "cafe\u{301}", "ü", "~", "0001"]

    /// How the lookups are answered: on the cursor (the table never tried), from the table in
    /// memory (tried at the first lookup), or on the cursor after the table was refused (a
    /// partner with more customers than its limit).
    enum Path: CaseIterable { case cursor, table, refused }

    @Test(arguments: ["sorted", "reversed", "shuffled", "sorted with gaps", "runs", "pairs swapped", "twice over"], Path.allCases)
    func everyAnswerIsWhatASearchGives(order: String, path: Path) throws {
        try withTemporaryDirectory { dir in
            let db = try Database(path: dir + "/intake.sqlite")
            try db.execute("INSERT INTO imports (id, partner, file_name, sha256, size, status, started_at) VALUES (1, 'p', 'a', '', 0, 'completed', 'x')")
            // The partner's customers: 3,000 numbered ones and the awkward ids, every fifth
            // without a digest; other partners' customers sort just before and after them.
            let stored = (0..<3000).map { fiveDigitID("C", $0 * 3) } + Self.awkward
            let insert = try db.cachedStatement("""
                INSERT INTO customers (partner, external_id, name, created_by_import, updated_at, row_digest)
                VALUES (?1, ?2, ?3, 1, 'x', ?4)
                """)
            try db.transaction {
                for (i, id) in stored.enumerated() {
                    try insert.run([.text("p"), .text(id), .text("name of \(id)"), i % 5 == 0 ? .null : .integer(Int64(i))])
                }
                for other in ["o", "q", "pp"] {
                    for id in ["A", "C00003", "C00004", "zzz"] { try insert.run([.text(other), .text(id), .text("other"), .integer(7)]) }
                }
            }
            // Keyed by bytes: Swift's `==` calls the two "é" equal, the table does not.
            let digestOf = Dictionary(uniqueKeysWithValues: stored.enumerated().map { (Array($1.utf8), $0 % 5 == 0 ? nil : Int64($0)) })

            // The file: the stored ids, and ids between them, before them and after them all.
            var ids = (0..<9100).map { fiveDigitID("C", $0) } + Self.awkward + ["", "B", "C", "C99999", "zz", "cafe", "\u{FFFD}"]
            ids.sort { String.binaryOrder($0, $1) < 0 }
            var generator = SplitMix64(seed: 42)
            switch order {
            case "sorted": break
            case "reversed": ids.reverse()
            case "shuffled": ids.shuffle(using: &generator)
            case "sorted with gaps": ids = ids.enumerated().filter { $0.offset % 37 > 20 }.map(\.element)
            // Each id after the one that follows it: the cursor walks past an id, then is asked
            // for it.
            case "pairs swapped": ids = stride(from: 0, to: ids.count - 1, by: 2).flatMap { [ids[$0 + 1], ids[$0]] }
            // The whole list again once the cursor ran off the partner's rows.
            case "twice over": ids += ids
            default:
                // Sorted runs of random length, in shuffled order, with each run's first id
                // repeated: what a merge of two exports looks like.
                var runs: [[String]] = []
                var rest = ids[...]
                while !rest.isEmpty {
                    let length = Int.random(in: 1...40, using: &generator)
                    runs.append(Array(rest.prefix(length)))
                    rest = rest.dropFirst(length)
                }
                runs.shuffle(using: &generator)
                ids = runs.flatMap { [$0[0]] + $0 }
            }

            let digests = try StoredDigests(path: dir + "/intake.sqlite", partner: "p",
                                            idsBehindBeforeTable: path == .cursor ? StoredDigests.idsBehindBeforeTable : 0,
                                            tableLimit: path == .refused ? stored.count - 1 : path == .table ? stored.count : StoredDigests.tableLimit)
            // The truth: a search of its own for each id.
            let search = try db.cachedStatement("SELECT row_digest, name FROM customers WHERE partner = 'p' AND external_id = ?1")
            for id in ids {
                let found = try search.rows([.text(id)]).first
                #expect((found != nil) == (digestOf.index(forKey: Array(id.utf8)) != nil), "\(id)")
                let storedDigest = found?[0].flatMap { Int64($0) }
                // Asked with its stored digest (a customer without one, with some digest), then
                // with another: unchanged exactly when the digests are equal.
                for asked in [storedDigest ?? 1, (storedDigest ?? 1) &+ 1_000_000] {
                    switch try digests.lookUp(id, idHash: IDHash.of(id), digest: asked) {
                    case .sameDigest:
                        #expect(storedDigest == asked, "\(id)")
                    case .differs(let exists):
                        #expect(exists == (found != nil), "\(id)")
                        #expect(storedDigest != asked, "\(id)")
                    }
                }
                // Read where the lookup left the cursor, or searched for: that customer, or none.
                #expect(String.sameBytes(try digests.storedRow(of: id)?.name, found.flatMap { $0[1] }), "\(id)")
            }
            #expect(digests.readsFromTable == (path == .table))
            // A file in the table's order, however sparse, never searches behind the cursor, so
            // never reads the table.
            if order == "sorted" || order == "sorted with gaps" { #expect(digests.idsBehind == 0) }
            // A row read where the cursor does not stand is searched for.
            #expect(try digests.storedRow(of: "C00000")?.name == "name of C00000")
            #expect(try digests.storedRow(of: "C00001") == nil)
        }
    }
}
