/// The text encodings partners' CSV files really come in.
///
/// Excel on Windows writes the ANSI code page of the user's locale (Windows-1251 in Russia,
/// Windows-1252 in western Europe), UTF-16 LE for "Unicode Text", and UTF-8 with a BOM for
/// "CSV UTF-8"; Google Sheets and most tools write UTF-8 without a BOM.
public enum TextEncoding: String, Sendable, CaseIterable {
    case utf8 = "utf-8"
    case utf16LE = "utf-16le"
    case utf16BE = "utf-16be"
    case windows1251 = "windows-1251"
    case windows1252 = "windows-1252"
    case latin1 = "iso-8859-1"

    /// Parses the names operators and partners use (`cp1251`, `UTF8`, `latin-1`, ...).
    public init?(name: String) {
        let key = name.lowercased().filter { $0 != "-" && $0 != "_" && $0 != " " }
        switch key {
        case "utf8", "utf8bom", "utf8sig": self = .utf8
        case "utf16le", "utf16": self = .utf16LE
        case "utf16be": self = .utf16BE
        case "windows1251", "cp1251", "win1251", "ansi1251": self = .windows1251
        case "windows1252", "cp1252", "win1252", "ansi1252": self = .windows1252
        case "iso88591", "latin1", "l1": self = .latin1
        default: return nil
        }
    }
}

/// Chooses an encoding from the first bytes of a file.
enum EncodingDetector {
    /// The encoding, and how many bytes of byte-order mark to skip.
    static func detect(_ sample: UnsafeRawBufferPointer, atEnd: Bool) -> (TextEncoding, bom: Int) {
        let b = sample
        if b.count >= 3, b[0] == 0xEF, b[1] == 0xBB, b[2] == 0xBF { return (.utf8, 3) }
        if b.count >= 2, b[0] == 0xFF, b[1] == 0xFE { return (.utf16LE, 2) }
        if b.count >= 2, b[0] == 0xFE, b[1] == 0xFF { return (.utf16BE, 2) }
        if let utf16 = utf16WithoutBOM(b) { return (utf16, 0) }
        if isValidUTF8(b, atEnd: atEnd) { return (.utf8, 0) }
        return (legacy(b), 0)
    }

    /// UTF-16 without a BOM is plain from the zero bytes: ASCII text has a zero in every other byte.
    private static func utf16WithoutBOM(_ b: UnsafeRawBufferPointer) -> TextEncoding? {
        let n = min(b.count, 4096) & ~1
        guard n >= 4 else { return nil }
        var evenZeros = 0, oddZeros = 0
        for i in stride(from: 0, to: n, by: 2) {
            if b[i] == 0 { evenZeros += 1 }
            if b[i + 1] == 0 { oddZeros += 1 }
        }
        let pairs = n / 2
        // Mostly zeros on one side and almost none on the other; a stray NUL in a UTF-8 file does not qualify.
        if oddZeros * 10 >= pairs * 7 && evenZeros * 10 < pairs { return .utf16LE }
        if evenZeros * 10 >= pairs * 7 && oddZeros * 10 < pairs { return .utf16BE }
        return nil
    }

    /// Whether the bytes are UTF-8, allowing a sequence cut off by the end of the sample.
    static func isValidUTF8(_ b: UnsafeRawBufferPointer, atEnd: Bool) -> Bool {
        var i = 0
        let n = b.count
        while i < n {
            let c = b[i]
            if c < 0x80 { i += 1; continue }
            let length: Int
            if c >= 0xC2 && c <= 0xDF { length = 2 }
            else if c >= 0xE0 && c <= 0xEF { length = 3 }
            else if c >= 0xF0 && c <= 0xF4 { length = 4 }
            else { return false }
            if i + length > n { return !atEnd }
            for k in 1..<length where b[i + k] & 0xC0 != 0x80 { return false }
            // Overlong three- and four-byte forms, surrogates and values past U+10FFFF.
            if c == 0xE0 && b[i + 1] < 0xA0 { return false }
            if c == 0xED && b[i + 1] > 0x9F { return false }
            if c == 0xF0 && b[i + 1] < 0x90 { return false }
            if c == 0xF4 && b[i + 1] > 0x8F { return false }
            i += length
        }
        return true
    }

    /// Windows-1251 or Windows-1252, from the shape of the non-ASCII text.
    ///
    /// Russian text in 1251 is runs of bytes in 0xC0...0xFF (letters follow letters); accented Latin
    /// in 1252 is a lone high byte between ASCII letters. So count how often a high letter byte is
    /// followed by another one.
    static func legacy(_ b: UnsafeRawBufferPointer) -> TextEncoding {
        var high = 0, highPairs = 0
        var previousHigh = false
        for byte in b {
            let isHigh = byte >= 0xC0
            if isHigh {
                high += 1
                if previousHigh { highPairs += 1 }
            }
            previousHigh = isHigh
        }
        if high >= 2 && highPairs * 2 >= high { return .windows1251 }
        return .windows1252
    }
}

/// Converts a stream of bytes in some encoding into UTF-8, chunk by chunk.
///
/// Keeps the bytes of a character cut by a chunk boundary for the next chunk, so callers may
/// feed any chunk sizes.
struct Transcoder {
    let encoding: TextEncoding
    private var carry: [UInt8] = []
    private let table: [UInt16]?

    init(_ encoding: TextEncoding) {
        self.encoding = encoding
        switch encoding {
        case .windows1251: table = SingleByteTables.windows1251
        case .windows1252: table = SingleByteTables.windows1252
        case .latin1: table = (0x80...0xFF).map { UInt16($0) }
        default: table = nil
        }
    }

    /// Appends the UTF-8 form of `input` to `output`. With `final`, a dangling partial character
    /// becomes U+FFFD rather than being kept.
    mutating func transcode(_ input: UnsafeRawBufferPointer, into output: inout [UInt8], final: Bool) {
        switch encoding {
        case .utf8:
            output.append(contentsOf: input)
        case .utf16LE, .utf16BE:
            transcodeUTF16(input, bigEndian: encoding == .utf16BE, into: &output, final: final)
        case .windows1251, .windows1252, .latin1:
            let table = self.table!
            output.reserveCapacity(output.count + input.count * 2)
            for byte in input {
                if byte < 0x80 { output.append(byte) } else { appendScalar(UInt32(table[Int(byte) - 0x80]), to: &output) }
            }
        }
    }

    private mutating func transcodeUTF16(_ input: UnsafeRawBufferPointer, bigEndian: Bool, into output: inout [UInt8], final: Bool) {
        var bytes = carry
        bytes.append(contentsOf: input)
        carry.removeAll(keepingCapacity: true)
        output.reserveCapacity(output.count + bytes.count * 3 / 2)
        var i = 0
        func unit(_ at: Int) -> UInt32 {
            bigEndian ? UInt32(bytes[at]) << 8 | UInt32(bytes[at + 1]) : UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at])
        }
        while i + 1 < bytes.count {
            let u = unit(i)
            if u >= 0xD800 && u <= 0xDBFF {
                if i + 3 >= bytes.count {
                    if final { appendScalar(0xFFFD, to: &output); i += 2; continue }
                    break
                }
                let low = unit(i + 2)
                if low >= 0xDC00 && low <= 0xDFFF {
                    appendScalar(0x10000 + ((u - 0xD800) << 10) + (low - 0xDC00), to: &output)
                    i += 4
                } else {
                    appendScalar(0xFFFD, to: &output)
                    i += 2
                }
            } else if u >= 0xDC00 && u <= 0xDFFF {
                appendScalar(0xFFFD, to: &output)
                i += 2
            } else {
                appendScalar(u, to: &output)
                i += 2
            }
        }
        if i < bytes.count {
            if final { appendScalar(0xFFFD, to: &output) } else { carry.append(contentsOf: bytes[i...]) }
        }
    }

    private func appendScalar(_ v: UInt32, to output: inout [UInt8]) {
        switch v {
        case ..<0x80: output.append(UInt8(v))
        case ..<0x800:
            output.append(UInt8(0xC0 | (v >> 6)))
            output.append(UInt8(0x80 | (v & 0x3F)))
        case ..<0x10000:
            output.append(UInt8(0xE0 | (v >> 12)))
            output.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
            output.append(UInt8(0x80 | (v & 0x3F)))
        default:
            output.append(UInt8(0xF0 | (v >> 18)))
            output.append(UInt8(0x80 | ((v >> 12) & 0x3F)))
            output.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
            output.append(UInt8(0x80 | (v & 0x3F)))
        }
    }
}

/// Code points for bytes 0x80...0xFF. Bytes a code page leaves undefined map to the C1 control of
/// the same value, as the WHATWG Encoding Standard does, so no byte is ever lost.
enum SingleByteTables {
    static let windows1251: [UInt16] = [
        0x0402, 0x0403, 0x201A, 0x0453, 0x201E, 0x2026, 0x2020, 0x2021, 0x20AC, 0x2030, 0x0409, 0x2039, 0x040A, 0x040C, 0x040B, 0x040F,
        0x0452, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x0098, 0x2122, 0x0459, 0x203A, 0x045A, 0x045C, 0x045B, 0x045F,
        0x00A0, 0x040E, 0x045E, 0x0408, 0x00A4, 0x0490, 0x00A6, 0x00A7, 0x0401, 0x00A9, 0x0404, 0x00AB, 0x00AC, 0x00AD, 0x00AE, 0x0407,
        0x00B0, 0x00B1, 0x0406, 0x0456, 0x0491, 0x00B5, 0x00B6, 0x00B7, 0x0451, 0x2116, 0x0454, 0x00BB, 0x0458, 0x0405, 0x0455, 0x0457,
    ] + (0x0410...0x044F).map { UInt16($0) }

    static let windows1252: [UInt16] = [
        0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,
        0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
    ] + (0xA0...0xFF).map { UInt16($0) }
}
