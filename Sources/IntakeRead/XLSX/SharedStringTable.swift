#if canImport(Glibc)
import Glibc
#endif
import IntakeSystem

/// A workbook's shared strings, kept compactly: the text of all strings in one byte buffer and
/// the end of each in a `UInt32` array, 4 bytes of bookkeeping a string instead of a `String`'s
/// 16 and its allocation. A table larger than ``ReadLimits/sharedStringsMemoryBytes`` moves to two
/// nameless scratch files and is read back with `pread`, so memory stays flat whatever a
/// workbook claims: ten million one-letter strings cost the same few buffers as ten.
///
/// Not `Sendable`: filled by the shared-strings parser, then read by the sheet parser, both on
/// the reading thread.
final class SharedStringTable {
    private let memoryBudget: Int
    private let scratchDirectory: String
    private var text: [UInt8] = []
    /// `ends[i]` is where string `i` ends in `text`; it starts where string `i - 1` ends.
    private var ends: [UInt32] = []
    private var spill: Spill?
    /// How many strings the table holds.
    private(set) var count = 0
    /// One bit a string: whether it holds a NUL (decoded from `_x0000_`), which no cell may hold;
    /// a row that uses one is rejected, as a CSV field with a NUL byte is. A bit, not a set of
    /// indexes, so that millions of such strings cost an eighth of a byte each.
    private var nulBits: [UInt64] = []
    /// Whether any string holds a NUL.
    private(set) var hasNUL = false

    /// Whether string `index` holds a NUL.
    func holdsNUL(_ index: Int) -> Bool {
        hasNUL && index >= 0 && index / 64 < nulBits.count && nulBits[index / 64] & (1 << UInt64(index % 64)) != 0
    }

    /// The table on disk: text and ends each in a nameless file, written through buffers.
    private final class Spill {
        let text: FileDescriptor
        let ends: FileDescriptor
        var textBuffer: [UInt8] = []
        var endsBuffer: [UInt8] = []
        var textLength: UInt32 = 0

        init(text: consuming FileDescriptor, ends: consuming FileDescriptor) {
            self.text = text
            self.ends = ends
        }

        func flush() throws(SystemError) {
            if !textBuffer.isEmpty { try text.writeAll(textBuffer); textBuffer.removeAll(keepingCapacity: true) }
            if !endsBuffer.isEmpty { try ends.writeAll(endsBuffer); endsBuffer.removeAll(keepingCapacity: true) }
        }
    }

    init(limits: ReadLimits, scratchDirectory: String) {
        memoryBudget = limits.sharedStringsMemoryBytes
        self.scratchDirectory = scratchDirectory
    }

    /// Room for the whole budget is reserved with the first string, so the buffers never grow by
    /// doubling (which would hold the old and the new copy at once, up to three times the
    /// budget); pages that are reserved but never written cost no memory.
    private func reserve() {
        text.reserveCapacity(memoryBudget)
        ends.reserveCapacity(memoryBudget / 4 + 1)
    }

    /// Whether the table lives in scratch files.
    var isSpilled: Bool { spill != nil }

    /// Adds the next string.
    /// - Throws: ``SystemError`` when the scratch files cannot be created or written.
    func append(_ string: String) throws(SystemError) {
        var string = string
        // Moved out before the string that would overflow the reserved room, never after.
        if spill == nil && text.count + string.utf8.count + (ends.count + 1) * 4 > memoryBudget { try moveToScratchFiles() }
        let hasNUL = string.withUTF8 { bytes in
            if let spill {
                spill.textBuffer.append(contentsOf: bytes)
                spill.textLength += UInt32(bytes.count)
                withUnsafeBytes(of: spill.textLength.littleEndian) { spill.endsBuffer.append(contentsOf: $0) }
            } else {
                if count == 0 { reserve() }
                text.append(contentsOf: bytes)
                ends.append(UInt32(text.count))
            }
            return bytes.contains(0)
        }
        if hasNUL {
            while nulBits.count <= count / 64 { nulBits.append(0) }
            nulBits[count / 64] |= 1 << UInt64(count % 64)
            self.hasNUL = true
        }
        count += 1
        if let spill, spill.textBuffer.count >= 1 << 16 || spill.endsBuffer.count >= 1 << 16 { try spill.flush() }
    }

    /// Writes out what is still buffered; call once the last string is in.
    func finish() throws(SystemError) {
        try spill?.flush()
    }

    private func moveToScratchFiles() throws(SystemError) {
        let spill = Spill(text: try FileDescriptor.anonymous(in: scratchDirectory), ends: try FileDescriptor.anonymous(in: scratchDirectory))
        try spill.text.writeAll(text)
        try ends.withUnsafeBytes { raw in Result { () throws(SystemError) in try spill.ends.writeAll(raw) } }.get()
        spill.textLength = UInt32(text.count)
        self.spill = spill
        text = []
        ends = []
    }

    /// String `index`, or nil when the table has no such string.
    /// - Throws: ``SystemError`` when a scratch file cannot be read.
    func string(at index: Int) throws(SystemError) -> String? {
        guard index >= 0, index < count else { return nil }
        guard let spill else {
            let start = index == 0 ? 0 : Int(ends[index - 1])
            return text.withUnsafeBufferPointer { String(decoding: UnsafeBufferPointer(rebasing: $0[start..<Int(ends[index])]), as: UTF8.self) }
        }
        // Both ends in one read: the one before this string's (its start) and its own.
        var bounds: (UInt32, UInt32) = (0, 0)
        let read = try withUnsafeMutableBytes(of: &bounds) { raw in
            Result { () throws(SystemError) in
                index == 0
                    ? try spill.ends.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[4...]), at: 0) + 4
                    : try spill.ends.read(into: raw, at: Int64(index - 1) * 4)
            }
        }.get()
        guard read == 8 else { throw SystemError(code: EIO, operation: "pread", subject: "shared strings scratch file") }
        let start = Int(UInt32(littleEndian: bounds.0)), end = Int(UInt32(littleEndian: bounds.1))
        guard end >= start else { throw SystemError(code: EIO, operation: "pread", subject: "shared strings scratch file") }
        if start == end { return "" }
        let buffer = ChunkBuffer(count: end - start)
        guard try spill.text.read(into: buffer.raw, at: Int64(start)) == end - start else {
            throw SystemError(code: EIO, operation: "pread", subject: "shared strings scratch file")
        }
        return String(decoding: buffer.prefix(end - start), as: UTF8.self)
    }
}
