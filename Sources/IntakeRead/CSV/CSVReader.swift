import IntakeSystem

/// Streams the records of a CSV file as text cells, in memory bounded by the largest record.
///
/// RFC 4180 with the leniency real files need: `,` `;` tab or `|` as delimiter (detected from the
/// first rows unless given), CRLF, LF or lone CR line ends, a last line with or without a line
/// break, quotes that only mean something at the start of a field, and text after a closing quote
/// kept (as Python's csv module does). The file is decoded to UTF-8 as it is read (see
/// ``TextEncoding``); the parser then works on UTF-8 bytes, where the delimiter, quote and line
/// breaks are single ASCII bytes that can never be part of a multi-byte character.
public final class CSVReader: RecordReader {
    public let info: SourceInfo
    public let name: String

    private let file: FileDescriptor
    private var transcoder: Transcoder
    private let delimiter: UInt8
    private let maxRecordBytes: Int

    /// Decoded UTF-8 bytes; `buffer[position...]` is not parsed yet.
    private var buffer: [UInt8] = []
    private var position = 0
    private var endOfFile = false
    /// The line at `position`, 1-based.
    private var line = 1
    private var rawChunk: UnsafeMutableRawBufferPointer
    private var spans: [FieldSpan] = []
    /// A quoted field's bytes without their quoting, reused from field to field.
    private var unquoted: [UInt8] = []

    private static let chunkSize = 1 << 20
    private static let sniffBytes = 64 << 10
    private static let quote = UInt8(ascii: "\"")
    private static let lf = UInt8(ascii: "\n")
    private static let cr = UInt8(ascii: "\r")

    /// Opens `path`, detects its encoding and delimiter from its first 64 KiB (unless `options`
    /// gives them), and positions the reader at the first record.
    ///
    /// - Throws: ``ReadError`` `.io` when the file cannot be read, `.empty` when it has no bytes.
    public init(path: String, options: ReadOptions = ReadOptions()) throws(ReadError) {
        let name = options.displayName ?? FileSystem.baseName(of: path)
        self.name = name
        self.maxRecordBytes = options.limits.maxRecordBytes
        do { file = try FileDescriptor(opening: path) } catch { throw ReadError(io: error, file: name) }
        rawChunk = .allocate(byteCount: Self.chunkSize, alignment: 16)

        // Fill the sniffing sample; a short read is not the end of the file.
        var sampleCount = 0
        var atEnd = false
        while sampleCount < Self.sniffBytes {
            let slice = UnsafeMutableRawBufferPointer(rebasing: rawChunk[sampleCount..<Self.sniffBytes])
            let n: Int
            do { n = try file.read(into: slice) } catch { rawChunk.deallocate(); throw ReadError(io: error, file: name) }
            if n == 0 { atEnd = true; break }
            sampleCount += n
        }
        let sample = UnsafeRawBufferPointer(rebasing: rawChunk[0..<sampleCount])
        var (encoding, bom) = EncodingDetector.detect(sample, atEnd: atEnd)
        if let chosen = options.encoding {
            if chosen != encoding { bom = Self.bomLength(of: chosen, in: sample) }
            encoding = chosen
        }
        transcoder = Transcoder(encoding)
        transcoder.transcode(UnsafeRawBufferPointer(rebasing: sample[bom...]), into: &buffer, final: atEnd)
        endOfFile = atEnd

        if buffer.isEmpty && atEnd {
            rawChunk.deallocate()
            throw ReadError(.empty, file: name, "the file is empty")
        }
        delimiter = options.delimiter ?? DelimiterSniffer.sniff(buffer, complete: atEnd)
        info = SourceInfo(format: .csv, encoding: encoding.rawValue, delimiter: String(UnicodeScalar(delimiter)))
    }

    deinit { rawChunk.deallocate() }

    private static func bomLength(of encoding: TextEncoding, in b: UnsafeRawBufferPointer) -> Int {
        switch encoding {
        case .utf8: return b.count >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF ? 3 : 0
        case .utf16LE: return b.count >= 2 && b[0] == 0xFF && b[1] == 0xFE ? 2 : 0
        case .utf16BE: return b.count >= 2 && b[0] == 0xFE && b[1] == 0xFF ? 2 : 0
        default: return 0
        }
    }

    /// Reads the next chunk of the file, decoded, after dropping what is already parsed.
    private func refill() throws(ReadError) {
        if position > 0 {
            buffer.removeSubrange(0..<position)
            position = 0
        }
        let n: Int
        do { n = try file.read(into: rawChunk) } catch { throw ReadError(io: error, file: name) }
        if n == 0 { endOfFile = true }
        transcoder.transcode(UnsafeRawBufferPointer(rebasing: rawChunk[0..<n]), into: &buffer, final: n == 0)
    }

    /// The next record, header included, or nil at the end of the file. Text that does not decode,
    /// or a NUL byte, sets ``SourceRow/problem`` rather than throwing, so the other rows still count.
    /// - Throws: ``ReadError`` `.io` when the file cannot be read, `.recordTooLarge` past
    ///   ``ReadLimits/maxRecordBytes``, `.unterminatedQuote` when a quoted field never closes.
    public func nextRecord() throws(ReadError) -> SourceRow? {
        while true {
            switch parseRecord() {
            case .record(let end, let lines, let hasNUL):
                if end - position > maxRecordBytes { throw recordTooLarge(quoteLine: nil) }
                var row = makeRow(hasNUL: hasNUL)
                row.endsTheFileWithoutLineBreak = endOfFile && end >= buffer.count && end > 0 && buffer[end - 1] != 0x0A && buffer[end - 1] != 0x0D
                position = end
                line += lines
                return row
            case .endOfInput:
                return nil
            case .needMore(let quoteLine):
                if buffer.count - position > maxRecordBytes { throw recordTooLarge(quoteLine: quoteLine) }
                try refill()
            case .unterminatedQuote(let quoteLine):
                throw ReadError(.unterminatedQuote, file: name, line: quoteLine,
                                "a quoted field opened on this line is never closed")
            }
        }
    }

    private func recordTooLarge(quoteLine: Int?) -> ReadError {
        var message = "a single record is larger than \(maxRecordBytes) bytes"
        if let quoteLine { message += "; a quoted field opened at line \(quoteLine) may never close" }
        return ReadError(.recordTooLarge, file: name, line: line, message)
    }

    private struct FieldSpan {
        var start: Int
        var end: Int
        /// A quoted field: doubled quotes become one and the closing quote is dropped.
        var quoted: Bool
    }

    private enum Outcome {
        case record(end: Int, lines: Int, hasNUL: Bool)
        case needMore(quoteLine: Int?)
        case unterminatedQuote(line: Int)
        case endOfInput
    }

    /// Parses one record starting at `position` into `spans`, without consuming it. Restarted from
    /// the record's start after a refill, so the parser keeps no state across chunks.
    private func parseRecord() -> Outcome {
        spans.removeAll(keepingCapacity: true)
        let delimiter = self.delimiter
        let quote = Self.quote, lf = Self.lf, cr = Self.cr
        let atEnd = endOfFile
        return buffer.withUnsafeBufferPointer { buf -> Outcome in
            let n = buf.count
            var i = position
            if i >= n { return atEnd ? .endOfInput : .needMore(quoteLine: nil) }
            var lines = 0
            var hasNUL = false

            /// Ends the record at a line break at `j`; returns nil when CR might be followed by LF in the next chunk.
            func lineBreakLength(_ j: Int) -> Int? {
                if buf[j] == lf { return 1 }
                if j + 1 < n { return buf[j + 1] == lf ? 2 : 1 }
                return atEnd ? 1 : nil
            }

            while true {
                // At the start of a field.
                if i >= n {
                    // The record ends at the end of the file after a delimiter: one last empty field.
                    guard atEnd else { return .needMore(quoteLine: nil) }
                    spans.append(FieldSpan(start: i, end: i, quoted: false))
                    return .record(end: i, lines: lines, hasNUL: hasNUL)
                }
                if buf[i] == quote {
                    let quoteLine = line + lines
                    let start = i + 1
                    var j = start
                    var fieldLines = 0
                    // Inside quotes: only a quote can end the quoted part.
                    while true {
                        if j >= n {
                            return atEnd ? .unterminatedQuote(line: quoteLine) : .needMore(quoteLine: quoteLine)
                        }
                        let c = buf[j]
                        if c == quote {
                            if j + 1 < n && buf[j + 1] == quote { j += 2; continue }
                            if j + 1 >= n && !atEnd { return .needMore(quoteLine: quoteLine) }
                            j += 1
                            // After the closing quote, anything up to the delimiter or line end is kept.
                            while j < n, buf[j] != delimiter, buf[j] != lf, buf[j] != cr {
                                if buf[j] == 0 { hasNUL = true }
                                j += 1
                            }
                            break
                        }
                        if c == lf { fieldLines += 1 }
                        else if c == cr && !(j + 1 < n && buf[j + 1] == lf) { fieldLines += 1 }
                        else if c == 0 { hasNUL = true }
                        j += 1
                    }
                    lines += fieldLines
                    spans.append(FieldSpan(start: start, end: j, quoted: true))
                    i = j
                } else {
                    let start = i
                    var j = i
                    while j < n {
                        let c = buf[j]
                        if c == delimiter || c == lf || c == cr { break }
                        if c == 0 { hasNUL = true }
                        j += 1
                    }
                    spans.append(FieldSpan(start: start, end: j, quoted: false))
                    i = j
                }
                // After a field: a delimiter, a line break, or the end of the input.
                if i >= n {
                    guard atEnd else { return .needMore(quoteLine: nil) }
                    return .record(end: i, lines: lines + 1, hasNUL: hasNUL)
                }
                if buf[i] == delimiter { i += 1; continue }
                guard let length = lineBreakLength(i) else { return .needMore(quoteLine: nil) }
                return .record(end: i + length, lines: lines + 1, hasNUL: hasNUL)
            }
        }
    }

    /// Turns the parsed spans into text cells, checking each is valid UTF-8 (the file may turn out
    /// not to be UTF-8 after the sample that detection saw).
    private func makeRow(hasNUL: Bool) -> SourceRow {
        var cells: [String] = []
        cells.reserveCapacity(spans.count)
        var problem: String?
        var unquoted = self.unquoted
        self.unquoted = []
        defer { self.unquoted = unquoted }
        buffer.withUnsafeBufferPointer { buf in
            for (index, span) in spans.enumerated() {
                let raw = UnsafeBufferPointer(rebasing: buf[span.start..<span.end])
                func text(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
                    if !UTF8Validation.isValid(bytes) {
                        problem = problem ?? "field \(index + 1) is not valid \(info.encoding ?? "UTF-8") text"
                    }
                    return String(decoding: bytes, as: UTF8.self) // invalid sequences shown as U+FFFD
                }
                if span.quoted {
                    Self.unquote(raw, into: &unquoted)
                    cells.append(unquoted.withUnsafeBufferPointer(text))
                } else {
                    cells.append(text(raw))
                }
            }
        }
        if hasNUL, let column = cells.firstIndex(where: { $0.utf8.contains(0) }) {
            problem = "field \(column + 1) contains a NUL byte"
        }
        return SourceRow(number: line, cells: cells, problem: problem)
    }

    /// Removes the quoting of a quoted field's bytes (between the opening quote and the
    /// delimiter), into `out`, emptied first (its buffer kept).
    private static func unquote(_ raw: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
        out.removeAll(keepingCapacity: true)
        out.reserveCapacity(raw.count)
        var k = 0
        while k < raw.count {
            let c = raw[k]
            if c == quote {
                if k + 1 < raw.count && raw[k + 1] == quote { out.append(quote); k += 2 } else { k += 1 }
                continue
            }
            out.append(c)
            k += 1
        }
    }
}

/// Finds the delimiter Excel used, from the first records of a file.
enum DelimiterSniffer {
    static let candidates: [UInt8] = [UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: "\t"), UInt8(ascii: "|")]

    /// The candidate whose field count is the same on the most records and gives more than one
    /// field; `,` when nothing splits the rows. Quotes are honoured, so a delimiter inside a
    /// quoted field does not count.
    static func sniff(_ sample: [UInt8], complete: Bool) -> UInt8 {
        var best: (delimiter: UInt8, score: Int) = (UInt8(ascii: ","), 0)
        for candidate in candidates {
            let counts = fieldCounts(sample, delimiter: candidate, complete: complete)
            guard let header = counts.first, header > 1 else { continue }
            let consistent = counts.filter { $0 == header }.count
            let score = consistent * 1000 + min(header, 999)
            if score > best.score { best = (candidate, score) }
        }
        return best.delimiter
    }

    /// Fields per non-blank record for the first 50 records of the sample.
    private static func fieldCounts(_ b: [UInt8], delimiter: UInt8, complete: Bool) -> [Int] {
        var counts: [Int] = []
        var fields = 1
        var inQuotes = false
        var atFieldStart = true
        var recordHasContent = false
        let quote = UInt8(ascii: "\""), lf = UInt8(ascii: "\n"), cr = UInt8(ascii: "\r")
        for c in b {
            if inQuotes {
                if c == quote { inQuotes = false }
                continue
            }
            if c == quote && atFieldStart { inQuotes = true; atFieldStart = false; recordHasContent = true; continue }
            if c == lf || c == cr {
                if recordHasContent { counts.append(fields) }
                if counts.count >= 50 { return counts }
                fields = 1; atFieldStart = true; recordHasContent = false
                continue
            }
            recordHasContent = true
            if c == delimiter { fields += 1; atFieldStart = true } else { atFieldStart = false }
        }
        // The last record counts only when the sample holds the whole file.
        if complete && recordHasContent { counts.append(fields) }
        return counts
    }
}
