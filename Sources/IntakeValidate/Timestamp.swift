import IntakeSystem

/// Parses `created_at` values into Intake's stored form `YYYY-MM-DD HH:MM:SS` (UTC).
///
/// Accepted: the documented `2018-01-01 00:11:22`; ISO 8601 (`2018-01-01T00:11:22`, optional
/// fraction, `Z` or a `±HH:MM`/`±HHMM` offset, converted to UTC); a date alone (midnight). The
/// calendar is checked: `2023-02-30` is an error, not March 2nd.
public enum TimestampParser {
    /// Parses `raw` into `YYYY-MM-DD HH:MM:SS` in UTC; a time without an offset is taken to be UTC
    /// already, and fractions of a second are dropped.
    /// - Throws: ``FieldError`` when `raw` has none of the accepted shapes, or names a date, time or
    ///   offset that does not exist.
    public static func parse(_ raw: String) throws(FieldError) -> String {
        let (time, offset) = try components(raw)
        if offset == nil, let canonical = time.canonical { return canonical }
        return try time.shifted(bySeconds: -(offset ?? 0)).formatted
    }

    /// The time as written and its UTC offset in seconds, when it has one.
    public static func components(_ raw: String) throws(FieldError) -> (CivilTime, offset: Int?) {
        let value = raw.trimmed
        let s = Array(value.utf8)
        func digits(_ at: Int, _ count: Int) -> Int? {
            guard at + count <= s.count else { return nil }
            var n = 0
            for i in at..<(at + count) {
                guard s[i] >= 0x30 && s[i] <= 0x39 else { return nil }
                n = n * 10 + Int(s[i] - 0x30)
            }
            return n
        }
        let shape = FieldError("is not a date: use YYYY-MM-DD HH:MM:SS, for example 2018-01-01 00:11:22")
        // The documented form, already canonical: check it and keep the text as it is.
        if s.count == 19, s[10] == UInt8(ascii: " "), s[13] == UInt8(ascii: ":"), s[16] == UInt8(ascii: ":"),
           s[4] == UInt8(ascii: "-"), s[7] == UInt8(ascii: "-"),
           let year = digits(0, 4), let month = digits(5, 2), let day = digits(8, 2),
           let hour = digits(11, 2), let minute = digits(14, 2), let second = digits(17, 2) {
            var time = try CivilTime(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
            time.canonical = value
            return (time, nil)
        }
        guard s.count >= 10, let year = digits(0, 4), s[4] == UInt8(ascii: "-"), let month = digits(5, 2),
              s[7] == UInt8(ascii: "-"), let day = digits(8, 2) else { throw shape }
        var hour = 0, minute = 0, second = 0
        var offsetSeconds: Int?
        var i = 10
        if i < s.count {
            guard s[i] == UInt8(ascii: " ") || s[i] == UInt8(ascii: "T") || s[i] == UInt8(ascii: "t"),
                  let h = digits(i + 1, 2), i + 3 < s.count, s[i + 3] == UInt8(ascii: ":"), let m = digits(i + 4, 2) else { throw shape }
            hour = h; minute = m
            i += 6
            if i < s.count && s[i] == UInt8(ascii: ":") {
                guard let sec = digits(i + 1, 2) else { throw shape }
                second = sec
                i += 3
                if i < s.count && (s[i] == UInt8(ascii: ".") || s[i] == UInt8(ascii: ",")) {
                    i += 1
                    let start = i
                    while i < s.count && s[i] >= 0x30 && s[i] <= 0x39 { i += 1 }
                    if i == start { throw shape }
                }
            }
            if i < s.count {
                if s[i] == UInt8(ascii: "Z") || s[i] == UInt8(ascii: "z") {
                    offsetSeconds = 0
                    i += 1
                } else if s[i] == UInt8(ascii: "+") || s[i] == UInt8(ascii: "-") {
                    let sign = s[i] == UInt8(ascii: "-") ? -1 : 1
                    guard let oh = digits(i + 1, 2) else { throw shape }
                    var om = 0
                    if i + 3 < s.count && s[i + 3] == UInt8(ascii: ":") {
                        guard let m = digits(i + 4, 2) else { throw shape }
                        om = m; i += 6
                    } else if let m = digits(i + 3, 2) {
                        om = m; i += 5
                    } else {
                        i += 3
                    }
                    guard oh <= 18, om < 60 else { throw FieldError("has an impossible time zone offset") }
                    offsetSeconds = sign * (oh * 3600 + om * 60)
                }
                guard i == s.count else { throw shape }
            }
        }
        return (try CivilTime(year: year, month: month, day: day, hour: hour, minute: minute, second: second), offsetSeconds)
    }
}

/// A checked calendar date and time, with the arithmetic time zone conversion needs.
public struct CivilTime: Sendable, Equatable {
    public var year, month, day, hour, minute, second: Int
    /// The input text when it was already `YYYY-MM-DD HH:MM:SS`, to return it without rebuilding.
    var canonical: String?

    /// - Throws: ``FieldError`` for a date or time that does not exist.
    public init(year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0) throws(FieldError) {
        guard (1...9999).contains(year) else { throw FieldError("has an impossible year \(year)") }
        guard (1...12).contains(month) else { throw FieldError("has an impossible month \(month)") }
        let days = CivilTime.daysIn(month: month, year: year)
        guard (1...days).contains(day) else {
            throw FieldError("is not a real date: \(pad4(year))-\(pad(month)) has \(days) days")
        }
        guard (0...23).contains(hour), (0...59).contains(minute), (0...59).contains(second) else {
            throw FieldError("has an impossible time \(pad(hour)):\(pad(minute)):\(pad(second))")
        }
        (self.year, self.month, self.day, self.hour, self.minute, self.second) = (year, month, day, hour, minute, second)
        canonical = nil
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// `YYYY-MM-DD HH:MM:SS`.
    public var formatted: String {
        "\(pad4(year))-\(pad(month))-\(pad(day)) \(pad(hour)):\(pad(minute)):\(pad(second))"
    }

    /// Seconds since 1970-01-01 00:00:00.
    public var epochSeconds: Int {
        CalendarDays.from(year: year, month: month, day: day) * 86_400 + hour * 3600 + minute * 60 + second
    }

    /// The time from seconds since 1970 (UTC).
    public init(epochSeconds: Int) {
        let days = Int((Double(epochSeconds) / 86_400).rounded(.down))
        let secs = epochSeconds - days * 86_400
        (year, month, day) = CalendarDays.civil(days)
        hour = secs / 3600
        minute = secs / 60 % 60
        second = secs % 60
        canonical = nil
    }

    /// The same instant `seconds` later (or earlier), e.g. to convert a local time to UTC.
    public func shifted(bySeconds seconds: Int) throws(FieldError) -> CivilTime {
        if seconds == 0 { return self }
        let shifted = CivilTime(epochSeconds: epochSeconds + seconds)
        return try CivilTime(year: shifted.year, month: shifted.month, day: shifted.day, hour: shifted.hour, minute: shifted.minute, second: shifted.second)
    }
}

private func pad(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }

private func pad4(_ n: Int) -> String {
    let digits = n.description
    return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
}
