import CZip
import IntakeSystem

#if canImport(Glibc)
import Glibc
#endif

/// The one owner of a `zip_t*`: an XLSX package opened read-only, with its entries indexed by
/// normalized name and every byte inflated from it counted against ``ReadLimits``.
///
/// Not `Sendable`: libzip handles are not safe to share between threads, and a reader is used
/// by one task at a time.
final class ZipArchive {
    private let handle: OpaquePointer
    let name: String
    let limits: ReadLimits
    /// Normalized part name (lower case, `/` separators, no leading `/`) → libzip index.
    private(set) var entries: [String: UInt64] = [:]
    /// Every entry's name as stored, for messages.
    private(set) var storedNames: [String] = []
    /// Bytes inflated so far from all parts.
    fileprivate(set) var totalInflated: Int64 = 0
    private let archiveSize: Int64

    /// Opens and checks the package's central directory.
    /// - Throws: `.corruptArchive` for a truncated or inconsistent zip, overlapping or duplicate
    ///   entries; `.passwordProtected` for encrypted entries.
    init(path: String, name: String, limits: ReadLimits) throws(ReadError) {
        self.name = name
        self.limits = limits
        var code: Int32 = 0
        // Not ZIP_CHECKCONS: libxlsxwriter and other real writers emit local headers (zip64
        // extras, data descriptors) that differ from the central directory in ways Excel accepts.
        // Truncation still fails here (no end of central directory), and bad data fails on read
        // (inflate errors, CRC mismatch).
        guard let handle = zip_open(path, ZIP_RDONLY, &code) else {
            throw ReadError(.corruptArchive, file: name, "is not a readable XLSX workbook: the zip archive is truncated or corrupt (libzip: \(Self.message(forCode: code)))")
        }
        self.handle = handle
        archiveSize = FileSystem.status(path).map { Int64($0.st_size) } ?? Int64.max

        let count = zip_get_num_entries(handle, 0)
        var compressedTotal: Int64 = 0
        for index in 0..<UInt64(max(count, 0)) {
            var info = zip_stat_t()
            zip_stat_init(&info)
            guard zip_stat_index(handle, index, 0, &info) == 0, let cName = info.name else {
                throw ReadError(.corruptArchive, file: name, "is not a readable XLSX workbook: entry \(index) is unreadable (libzip: \(Self.message(of: handle)))")
            }
            let stored = String(cString: cName)
            if info.encryption_method != UInt16(ZIP_EM_NONE) {
                throw ReadError(.passwordProtected, file: name, "password-protected workbooks are not supported; save it without a password and send it again")
            }
            compressedTotal += Int64(info.comp_size)
            let key = Self.normalize(stored)
            if entries[key] != nil {
                throw ReadError(.corruptArchive, file: name, "is not a valid XLSX workbook: the zip holds the part \"\(stored)\" twice")
            }
            entries[key] = index
            storedNames.append(stored)
        }
        // Entries whose data overlap (the "overlapping zip bomb") claim more compressed bytes than
        // the archive holds.
        if compressedTotal > archiveSize {
            throw ReadError(.archiveBomb, file: name, "is not a valid XLSX workbook: its zip entries overlap (\(compressedTotal) compressed bytes claimed in a \(archiveSize)-byte file)")
        }
    }

    deinit { zip_discard(handle) }

    /// The canonical form of a part name: zip writers differ in case, separators and a leading `/`.
    static func normalize(_ partName: String) -> String {
        var s = String(partName.lowercased().map { $0 == "\\" ? "/" : $0 })
        while s.hasPrefix("/") { s.removeFirst() }
        return s
    }

    func contains(_ part: String) -> Bool { entries[Self.normalize(part)] != nil }

    /// Opens a part for streaming.
    func open(_ part: String) throws(ReadError) -> ZipEntryStream {
        guard let index = entries[Self.normalize(part)] else {
            throw ReadError(.notAWorkbook, file: name, "is not a valid XLSX workbook: the part \"\(part)\" is missing")
        }
        var info = zip_stat_t()
        zip_stat_init(&info)
        _ = zip_stat_index(handle, index, 0, &info)
        guard let file = zip_fopen_index(handle, index, 0) else {
            throw ReadError(.corruptArchive, file: name, "cannot open the part \"\(part)\" (libzip: \(Self.message(of: handle)))")
        }
        return ZipEntryStream(archive: self, file: file, part: part, compressedSize: Int64(info.comp_size))
    }

    /// Reads a whole small part (relationships, workbook, styles) into memory, within the part limit.
    func readAll(_ part: String, max: Int = 64 << 20) throws(ReadError) -> [UInt8] {
        let stream = try open(part)
        var out: [UInt8] = []
        let chunk = ChunkBuffer(count: 64 << 10)
        while true {
            let n = try stream.read(into: chunk.raw)
            if n == 0 { break }
            out.append(contentsOf: chunk.prefix(n))
            if out.count > max {
                throw ReadError(.limitExceeded, file: name, "the part \"\(part)\" is larger than \(max) bytes")
            }
        }
        return out
    }

    fileprivate func addInflated(_ n: Int) { totalInflated += Int64(n) }

    private static func message(forCode code: Int32) -> String {
        var error = zip_error_t()
        zip_error_init_with_code(&error, code)
        defer { zip_error_fini(&error) }
        return String(cString: zip_error_strerror(&error))
    }

    fileprivate static func message(of handle: OpaquePointer) -> String {
        String(cString: zip_strerror(handle))
    }
}

/// The one owner of a `zip_file_t*`: a part being inflated, counted against the archive's limits.
///
/// The declared uncompressed size is never trusted: the bytes are counted as they come out.
final class ZipEntryStream {
    private let archive: ZipArchive
    private let file: OpaquePointer
    let part: String
    private let compressedSize: Int64
    private var inflated: Int64 = 0

    fileprivate init(archive: ZipArchive, file: OpaquePointer, part: String, compressedSize: Int64) {
        self.archive = archive
        self.file = file
        self.part = part
        self.compressedSize = compressedSize
    }

    deinit { zip_fclose(file) }

    /// Inflates up to `buffer.count` bytes; 0 at the end of the part.
    /// - Throws: `.corruptArchive` for bad data or CRC, `.archiveBomb` past a limit.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(ReadError) -> Int {
        let n = zip_fread(file, buffer.baseAddress, UInt64(buffer.count))
        if n < 0 {
            let message = String(cString: zip_file_strerror(file))
            throw ReadError(.corruptArchive, file: archive.name, "the part \"\(part)\" is corrupt or truncated (libzip: \(message))")
        }
        let count = Int(n)
        inflated += Int64(count)
        archive.addInflated(count)
        let limits = archive.limits
        if inflated > limits.maxPartBytes {
            throw ReadError(.archiveBomb, file: archive.name, "the part \"\(part)\" inflates past the limit of \(limits.maxPartBytes) bytes (a zip bomb?)")
        }
        if archive.totalInflated > limits.maxTotalBytes {
            throw ReadError(.archiveBomb, file: archive.name, "the workbook inflates past the limit of \(limits.maxTotalBytes) bytes in all (a zip bomb?)")
        }
        if inflated > limits.ratioCheckAfterBytes && inflated > max(compressedSize, 1) * limits.maxCompressionRatio {
            throw ReadError(.archiveBomb, file: archive.name, "the part \"\(part)\" inflates more than \(limits.maxCompressionRatio) times its compressed size (a zip bomb?)")
        }
        return count
    }
}
