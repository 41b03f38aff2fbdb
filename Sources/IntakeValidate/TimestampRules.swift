import Foundation

/// A partner's own `created_at` conventions: extra formats such as `DD.MM.YYYY HH:mm`, and the
/// time zone its local times are in (converted to UTC; DST handled by the zone's rules).
///
/// Format tokens: `YYYY` `YY` year, `MM` `M` month, `DD` `D` day, `HH` `H` hour (24h), `mm` `m`
/// minute, `ss` `s` second; every other character must appear as written. Times with an explicit
/// offset (`Z`, `+03:00`) keep their own offset whatever the zone.
public struct TimestampRules: Sendable {
    public let formats: [String]
    public let timeZone: TimeZone?

    /// - Throws: ``FieldError`` naming an unknown time zone or a format without a date.
    public init(formats: [String] = [], timeZone: String? = nil) throws(FieldError) {
        for format in formats where !(format.contains("YY") && format.contains("M") && format.contains("D")) {
            throw FieldError("format \"\(format)\" needs a year (YYYY or YY), a month (MM) and a day (DD)")
        }
        self.formats = formats
        if let timeZone {
            guard let zone = TimeZone(identifier: timeZone) else { throw FieldError("time zone \"\(timeZone)\" is not a known IANA zone (e.g. Europe/Moscow)") }
            self.timeZone = zone
        } else {
            self.timeZone = nil
        }
    }

    public var isDefault: Bool { formats.isEmpty && timeZone == nil }

    /// The value in Intake's stored form, UTC.
    public func parse(_ raw: String) throws(FieldError) -> String {
        let value = raw.trimmed
        for format in formats {
            if let local = try Self.match(value, format: format) { return try toUTC(local).formatted }
        }
        do {
            let (time, offset) = try TimestampParser.components(value)
            if let offset { return try time.shifted(bySeconds: -offset).formatted }
            return try toUTC(time).formatted
        } catch {
            if formats.isEmpty { throw error }
            throw FieldError("is not a date in any accepted format: \(formats.joined(separator: ", ")) or YYYY-MM-DD HH:MM:SS")
        }
    }

    private func toUTC(_ local: CivilTime) throws(FieldError) -> CivilTime {
        guard let zone = timeZone else { return local }
        let asIfUTC = local.epochSeconds
        let guess = zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(asIfUTC)))
        var utc = asIfUTC - guess
        let actual = zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(utc)))
        if actual != guess { utc = asIfUTC - actual }
        return CivilTime(epochSeconds: utc)
    }

    /// Matches `value` against one format; nil when its shape differs, an error when the shape
    /// fits but the date does not exist.
    static func match(_ value: String, format: String) throws(FieldError) -> CivilTime? {
        let v = Array(value.utf8), f = Array(format.utf8)
        var i = 0, j = 0
        var fields: [Character: Int] = [:]
        let tokens: [(String, Character, Int, Int)] = [
            ("YYYY", "Y", 4, 4), ("YY", "y", 2, 2), ("MM", "M", 2, 2), ("M", "M", 1, 2), ("DD", "D", 2, 2), ("D", "D", 1, 2),
            ("HH", "H", 2, 2), ("H", "H", 1, 2), ("mm", "m", 2, 2), ("m", "m", 1, 2), ("ss", "s", 2, 2), ("s", "s", 1, 2),
        ]
        outer: while j < f.count {
            for (token, field, minDigits, maxDigits) in tokens {
                let t = Array(token.utf8)
                if j + t.count <= f.count && Array(f[j..<(j + t.count)]) == t {
                    var n = 0, count = 0
                    while i < v.count, count < maxDigits, v[i] >= 0x30, v[i] <= 0x39 { n = n * 10 + Int(v[i] - 0x30); i += 1; count += 1 }
                    guard count >= minDigits else { return nil }
                    fields[field] = n
                    j += t.count
                    continue outer
                }
            }
            guard i < v.count, v[i] == f[j] else { return nil }
            i += 1; j += 1
        }
        guard i == v.count else { return nil }
        let year = fields["Y"] ?? (fields["y"].map { $0 < 70 ? 2000 + $0 : 1900 + $0 } ?? 0)
        return try CivilTime(year: year, month: fields["M"] ?? 0, day: fields["D"] ?? 0, hour: fields["H"] ?? 0, minute: fields["m"] ?? 0, second: fields["s"] ?? 0)
    }
}
