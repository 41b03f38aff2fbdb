import IntakeSystem

#if canImport(Glibc)
import Glibc
#endif

/// How a cell style displays a number: as itself, or as a date, a time or a duration.
enum NumberDisplay: Equatable {
    case number
    case date
    case dateTime
    case time
    /// `[h]:mm:ss`: hours past 24 are shown, as Excel does for elapsed time.
    case elapsed

    /// Excel's built-in number formats that show dates and times (ECMA-376 §18.8.30, plus the
    /// East Asian date formats 27-36 and 50-58).
    init(builtinFormat id: Int) {
        switch id {
        case 14...17, 27...31, 34...36, 50...58: self = .date
        case 22: self = .dateTime
        case 18...21, 32, 33, 45, 47: self = .time
        case 46: self = .elapsed
        default: self = .number
        }
    }

    /// Classifies a custom format code by the date and time parts it shows, after removing what
    /// is not a part: quoted literals, escaped characters, `[Red]`/`[$-409]` sections, padding.
    init(formatCode: String) {
        let section = formatCode.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        var cleaned: [Character] = []
        var elapsed = false
        var iterator = Array(section.lowercased())[...]
        while let c = iterator.popFirst() {
            switch c {
            case "\"":
                while let q = iterator.popFirst(), q != "\"" {}
            case "\\", "_", "*":
                _ = iterator.popFirst()
            case "[":
                var inside = ""
                while let q = iterator.popFirst(), q != "]" { inside.append(q) }
                if !inside.isEmpty && inside.allSatisfy({ "hms".contains($0) }) { elapsed = true }
            default:
                cleaned.append(c)
            }
        }
        var text = String(cleaned)
        if text == "general" || text.isEmpty { self = elapsed ? .elapsed : .number; return }
        for ampm in ["am/pm", "a/p"] {
            while let range = text.firstRange(of: ampm) { text.removeSubrange(range) }
        }
        let hasDate = text.contains("y") || text.contains("d") || (text.contains("m") && !text.contains("h") && !text.contains("s"))
        let hasTime = text.contains("h") || text.contains("s")
        if elapsed { self = .elapsed }
        else if hasDate && hasTime { self = .dateTime }
        else if hasDate { self = .date }
        else if hasTime { self = .time }
        else { self = .number }
    }
}

/// Turns the raw values of cells into the text a user sees in Excel.
enum CellText {
    /// A number as typed: integers without `.0` or exponent, other values with Excel's 15
    /// significant digits (so `0.1+0.2` reads `0.3`, `12.5` reads `12.5`).
    static func number(_ raw: String) -> String {
        let utf8 = raw.utf8
        // Fast path: plain integers of up to 15 digits are already what the user typed.
        if utf8.count <= 15, !utf8.isEmpty, utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) { return raw }
        guard let value = Double(raw), value.isFinite else { return raw }
        if value == value.rounded(), abs(value) < 1e15 {
            return String(Int64(value))
        }
        return formatted(value, "%.15g")
    }

    /// The value of a plain decimal such as `43101.09165509259` or `-12.5`, when it can be had
    /// exactly as `strtod` would give it without calling it: the digits, read as an integer,
    /// are below 2^53 and the fraction has at most 22 digits, so both that integer and the power
    /// of ten are exact doubles and their quotient is the correctly rounded value (Clinger's fast
    /// path). Anything else (exponents, more digits) is nil, and the caller uses `Double(_:)`.
    /// Every date cell of a sheet passes here; `Double(String)` cost a String and a C-string scan.
    static func decimal(_ bytes: [UInt8]) -> Double? {
        var mantissa: UInt64 = 0
        var fractionDigits = 0
        var digits = 0
        var seenPoint = false
        var negative = false
        for (i, b) in bytes.enumerated() {
            if b >= 0x30 && b <= 0x39 {
                // Checked after every digit, so the next one cannot overflow: 2^53 · 10 < 2^64.
                mantissa = mantissa * 10 + UInt64(b - 0x30)
                digits += 1
                if seenPoint { fractionDigits += 1 }
                if mantissa >= 1 << 53 { return nil }
            } else if b == UInt8(ascii: ".") && !seenPoint {
                seenPoint = true
            } else if b == UInt8(ascii: "-") && i == 0 {
                negative = true
            } else {
                return nil
            }
        }
        guard digits > 0, fractionDigits <= 22 else { return nil }
        let value = Double(mantissa) / powersOfTen[fractionDigits]
        return negative ? -value : value
    }

    private static let powersOfTen: [Double] = (0...22).map { k in (0..<k).reduce(1.0) { product, _ in product * 10 } }

    private static func formatted(_ value: Double, _ format: String) -> String {
        var buffer = [CChar](repeating: 0, count: 64)
        _ = withVaList([value]) { vsnprintf(&buffer, buffer.count, format, $0) }
        return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    /// An Excel serial date as `YYYY-MM-DD HH:MM:SS`, `YYYY-MM-DD` or `HH:MM:SS`, per `display`.
    /// Serial 60 in the 1900 system is Excel's fictional 1900-02-29 (Lotus's leap-year bug);
    /// serials before it are one day off from the usual 1899-12-30 epoch, which is corrected here.
    static func date(_ raw: [UInt8], display: NumberDisplay, date1904: Bool) -> String {
        guard let serial = decimal(raw) ?? Double(String(decoding: raw, as: UTF8.self)),
              serial.isFinite, serial >= 0, serial < 2_958_466 else { return number(String(decoding: raw, as: UTF8.self)) }
        var days = Int(serial.rounded(.down))
        var seconds = Int(((serial - Double(days)) * 86_400).rounded())
        if seconds >= 86_400 { days += 1; seconds -= 86_400 }
        // Written straight into the new String's storage: a date column is converted once per
        // row of the sheet, and a scratch array cost an allocation more per cell.
        return String(unsafeUninitializedCapacity: 32) { buffer in
            var out = DigitWriter(buffer: buffer)
            switch display {
            case .elapsed:
                out.clock(days * 86_400 + seconds)
                return out.count
            case .time:
                out.clock(seconds)
                return out.count
            default:
                break
            }
            if !date1904 && days == 60 {
                out.civil(year: 1900, month: 2, day: 29)
            } else {
                let sinceEpoch = date1904 ? days + daysFrom1970(1904, 1, 1)
                    : days < 60 ? days - 1 + daysFrom1970(1900, 1, 1) : days + daysFrom1970(1899, 12, 30)
                let (y, m, d) = CalendarDays.civil(sinceEpoch)
                out.civil(year: y, month: m, day: d)
            }
            if display != .date {
                out.byte(UInt8(ascii: " "))
                out.clock(seconds)
            }
            return out.count
        }
    }

    /// Writes zero-padded decimal fields into a buffer large enough for them (32 bytes hold any
    /// date, time or elapsed time Excel can show).
    private struct DigitWriter {
        let buffer: UnsafeMutableBufferPointer<UInt8>
        var count = 0

        mutating func byte(_ b: UInt8) {
            buffer[count] = b
            count += 1
        }

        /// `value` (never negative here) in decimal, zero-padded to at least `width` digits.
        mutating func digits(_ value: Int, width: Int) {
            var length = 1
            var rest = value / 10
            while rest > 0 { length += 1; rest /= 10 }
            length = max(length, width)
            var n = value
            for i in stride(from: count + length - 1, through: count, by: -1) {
                buffer[i] = UInt8(ascii: "0") + UInt8(n % 10)
                n /= 10
            }
            count += length
        }

        /// `HH:MM:SS`; hours grow past 99 for elapsed times.
        mutating func clock(_ seconds: Int) {
            digits(seconds / 3600, width: 2)
            byte(UInt8(ascii: ":"))
            digits(seconds / 60 % 60, width: 2)
            byte(UInt8(ascii: ":"))
            digits(seconds % 60, width: 2)
        }

        mutating func civil(year: Int, month: Int, day: Int) {
            digits(year, width: 4)
            byte(UInt8(ascii: "-"))
            digits(month, width: 2)
            byte(UInt8(ascii: "-"))
            digits(day, width: 2)
        }
    }

    /// A `t="d"` ISO 8601 cell (`2024-01-15T10:30:00`, `2024-01-15`) in Intake's date form.
    static func isoDate(_ raw: String) -> String {
        var text = raw
        if text.hasSuffix("Z") { text.removeLast() }
        let parts = text.split(separator: "T", maxSplits: 1)
        guard let date = parts.first, date.count == 10 else { return raw }
        guard parts.count == 2 else { return String(date) }
        var time = parts[1].prefix(8)
        if time.count == 5 { time += ":00" }
        return "\(date) \(time)"
    }

    /// Decodes OOXML's `_xHHHH_` escapes (ECMA-376 §22.9.2.19); `_x005F_` escapes a literal `_`.
    static func decodeEscapes(_ text: String) -> String {
        guard text.utf8.contains(UInt8(ascii: "_")) else { return text }
        let units = Array(text.utf16)
        var out: [UInt16] = []
        out.reserveCapacity(units.count)
        var i = 0
        while i < units.count {
            if units[i] == 0x5F, i + 6 < units.count, units[i + 1] == 0x78, units[i + 6] == 0x5F,
               let value = hex(units[(i + 2)...(i + 5)]) {
                out.append(value)
                i += 7
                continue
            }
            out.append(units[i])
            i += 1
        }
        return String(decoding: out, as: UTF16.self)
    }

    private static func hex(_ digits: ArraySlice<UInt16>) -> UInt16? {
        var value: UInt16 = 0
        for d in digits {
            let v: UInt16
            switch d {
            case 0x30...0x39: v = d - 0x30
            case 0x41...0x46: v = d - 0x41 + 10
            case 0x61...0x66: v = d - 0x61 + 10
            default: return nil
            }
            value = value << 4 | v
        }
        return value
    }

    static func daysFrom1970(_ year: Int, _ month: Int, _ day: Int) -> Int {
        CalendarDays.from(year: year, month: month, day: day)
    }
}
