import CXLSXWriter
import IntakeSystem

#if canImport(Glibc)
import Glibc
#endif

/// Deterministic customer files for the benchmark: the required columns plus four attributes,
/// with Cyrillic names, quotes, and a free-text column with commas, quotes and line breaks.
enum Generate {
    struct Row {
        var id: Int
        var email: String
        var name: String
        var phone: Int
        var createdAt: Int // seconds since 1970
        var city: String
        var tier: String
        var balance: Int
        var note: String
    }

    static let cities = ["Москва", "Санкт-Петербург", "Riga", "Berlin", "São Paulo", "Zürich", "Kyiv", "Almaty"]
    static let tiers = ["bronze", "silver", "gold", "platinum"]
    static let firstNames = ["Анна", "Иван", "Olga", "John", "Zoë", "Mary-Ann", "Пётр", "Seán"]
    static let lastNames = ["Петрова", "Smith", "O'Brien", "Иванов", "\"The Boss\" Lee", "Müller", "Ковальчук", "García"]

    /// Row `i` of the base file; `revision` > 0 changes the name and balance (an edited file).
    static func row(_ i: Int, revision: Int = 0) -> Row {
        var h = UInt64(i) &* 0x9E37_79B9_7F4A_7C15
        h ^= h >> 29
        let name = firstNames[Int(h % 8)] + " " + lastNames[Int((h >> 8) % 8)] + (revision > 0 ? " (rev \(revision))" : "")
        let note: String
        switch i % 4 {
        case 0: note = "called twice, left a message"
        case 1: note = "prefers \"email\", not phone"
        case 2: note = "line one\nline two, with comma"
        default: note = ""
        }
        return Row(
            id: 10_000_000 + i, email: "customer\(i)@example\(i % 97).com", name: name, phone: 79_000_000_000 + i,
            createdAt: 1_514_764_800 + (i * 7919) % 220_000_000, city: cities[Int((h >> 16) % 8)], tier: tiers[Int((h >> 24) % 4)],
            balance: Int((h >> 32) % 100_000) + revision * 17, note: note
        )
    }

    static let header = ["external_id", "email", "name", "phone", "created_at", "city", "tier", "balance", "note"]

    /// Writes a CSV: rows 0..<count, where every `changedEvery`-th row has `revision`, and `extra`
    /// new rows follow; `scattered` lists the same rows in an order far from the ids' (as an export
    /// sorted by name or date would), without holding them in memory: row `j` of the file is row
    /// `j·a mod n`, for an `a` near 0.618·n with no divisor in common with `n`.
    static func csv(path: String, count: Int, revision: Int = 0, changedEvery: Int = 2, extra: Int = 0, scattered: Bool = false) throws {
        let file = try FileDescriptor(opening: path, flags: O_WRONLY | O_CREAT | O_TRUNC)
        var out: [UInt8] = []
        out.reserveCapacity(1 << 20)
        out += Array((header.joined(separator: ",") + "\n").utf8)
        let n = count + extra
        func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }
        var step = max(1, Int(Double(n) * 0.618))
        while gcd(step, n) != 1 { step += 1 }
        var i = 0
        for _ in 0..<n {
            defer { i = scattered ? (i + step) % n : i + 1 }
            let r = row(i, revision: revision > 0 && (i % changedEvery == 0 || i >= count) ? revision : 0)
            let fields = [String(r.id), r.email, r.name, "+" + String(r.phone), UTC.format(r.createdAt), r.city, r.tier, String(r.balance), r.note]
            for (k, field) in fields.enumerated() {
                if k > 0 { out.append(UInt8(ascii: ",")) }
                if field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) {
                    out.append(UInt8(ascii: "\""))
                    for b in field.utf8 { if b == UInt8(ascii: "\"") { out.append(b) }; out.append(b) }
                    out.append(UInt8(ascii: "\""))
                } else {
                    out += Array(field.utf8)
                }
            }
            out.append(UInt8(ascii: "\n"))
            if out.count > 1 << 20 { try file.writeAll(out); out.removeAll(keepingCapacity: true) }
        }
        try file.writeAll(out)
    }

    /// Writes the same rows as an XLSX the way Excel users store them: ids, phones and balances as
    /// numbers, created_at as a date-formatted number, text as shared strings.
    static func xlsx(path: String, count: Int) throws {
        var options = lxw_workbook_options()
        options.constant_memory = 1
        guard let workbook = workbook_new_opt(path, &options) else { throw BenchError("cannot create \(path)") }
        let sheet = workbook_add_worksheet(workbook, "Customers")
        let dateFormat = workbook_add_format(workbook)
        format_set_num_format(dateFormat, "yyyy-mm-dd hh:mm:ss")
        for (c, name) in header.enumerated() { worksheet_write_string(sheet, 0, UInt16(c), name, nil) }
        for i in 0..<count {
            let r = row(i)
            let line = UInt32(i + 1)
            worksheet_write_number(sheet, line, 0, Double(r.id), nil)
            worksheet_write_string(sheet, line, 1, r.email, nil)
            worksheet_write_string(sheet, line, 2, r.name, nil)
            worksheet_write_number(sheet, line, 3, Double(r.phone), nil)
            worksheet_write_number(sheet, line, 4, Double(r.createdAt) / 86_400 + 25_569, dateFormat)
            worksheet_write_string(sheet, line, 5, r.city, nil)
            worksheet_write_string(sheet, line, 6, r.tier, nil)
            worksheet_write_number(sheet, line, 7, Double(r.balance), nil)
            if !r.note.isEmpty { worksheet_write_string(sheet, line, 8, r.note, nil) }
        }
        let rc = workbook_close(workbook)
        guard rc == LXW_NO_ERROR else { throw BenchError("writing \(path): \(String(cString: lxw_strerror(rc)))") }
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
