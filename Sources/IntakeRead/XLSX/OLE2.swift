import IntakeSystem

/// Files in Microsoft's OLE2 compound-file container, which Intake does not read.
///
/// Excel stores a password-protected workbook as an OLE2 container holding `EncryptionInfo` and
/// `EncryptedPackage` streams; a legacy `.xls` is an OLE2 container holding a `Workbook` stream.
/// The stream names sit in the container's directory as UTF-16LE, so a byte search tells the two
/// apart and the partner gets the right advice.
enum OLE2 {
    static func refusal(path: String, name: String) -> ReadError {
        if contains(path: path, utf16: "EncryptedPackage") {
            return ReadError(.passwordProtected, file: name, "password-protected workbooks are not supported; save it without a password and send it again")
        }
        return ReadError(.unsupportedFormat, file: name, "is a legacy Excel 97-2003 (.xls) workbook or another OLE2 document; save it as .xlsx or CSV and send it again")
    }

    private static func contains(path: String, utf16 word: String) -> Bool {
        let needle = word.utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
        guard let file = try? FileDescriptor(opening: path) else { return false }
        var window: [UInt8] = []
        let chunk = ChunkBuffer(count: 1 << 16)
        // The directory is small but may sit anywhere; stop after 256 MiB either way.
        for _ in 0..<4096 {
            guard let n = try? file.read(into: chunk.raw), n > 0 else { return false }
            window.append(contentsOf: chunk.prefix(n))
            if window.count >= needle.count {
                for start in 0...(window.count - needle.count) where window[start] == needle[0] {
                    if window[start..<(start + needle.count)].elementsEqual(needle) { return true }
                }
                window.removeFirst(window.count - needle.count + 1)
            }
        }
        return false
    }
}
