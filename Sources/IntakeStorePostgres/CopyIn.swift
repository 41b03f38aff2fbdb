import CLibPQ

/// The rows of one `COPY … FROM STDIN`, in PostgreSQL's text format, sent in large chunks.
public final class CopyIn {
    private let connection: PostgresConnection
    private let sql: String
    private var buffer: [UInt8] = []
    private static let chunk = 256 << 10

    init(connection: PostgresConnection, sql: String) {
        self.connection = connection
        self.sql = sql
        buffer.reserveCapacity(Self.chunk + 4096)
    }

    /// Adds one row; nil is NULL.
    public func add(_ fields: [String?]) throws(PostgresError) {
        for field in fields {
            if let field { self.field(field) } else { null() }
        }
        try endRow()
    }

    // Field by field, for the hot loop: no array or string is made per row.

    /// The next field of the row: `text`, or NULL when nil.
    public func field(_ text: String?) {
        separate()
        guard var text else { return appendNull() }
        text.withUTF8 { Self.escape($0, into: &buffer) }
    }

    /// The next field: NULL.
    public func null() {
        separate()
        appendNull()
    }

    /// The next field: a decimal integer.
    public func integer(_ value: Int) {
        separate()
        buffer.append(contentsOf: String(value).utf8)
    }

    /// The next field: `cells` as ``CellPacking`` lays them out (length, colon, text; repeated).
    func packed(_ cells: [String]) {
        separate()
        for var cell in cells {
            // The length of the text as stored: a NUL becomes three bytes (see `escape`).
            let nuls = cell.utf8.reduce(0) { $0 + ($1 == 0 ? 1 : 0) }
            buffer.append(contentsOf: String(cell.utf8.count + 2 * nuls).utf8)
            buffer.append(UInt8(ascii: ":"))
            cell.withUTF8 { Self.escape($0, into: &buffer) }
        }
    }

    /// Ends the row; sends what has gathered once it passes the chunk size.
    public func endRow() throws(PostgresError) {
        buffer.append(UInt8(ascii: "\n"))
        atRowStart = true
        if buffer.count >= Self.chunk { try flush() }
    }

    private var atRowStart = true

    private func separate() {
        if !atRowStart { buffer.append(UInt8(ascii: "\t")) }
        atRowStart = false
    }

    private func appendNull() {
        buffer.append(UInt8(ascii: "\\"))
        buffer.append(UInt8(ascii: "N"))
    }

    /// Ends the copy; throws the server's error if a row was refused.
    public func finish() throws(PostgresError) {
        try flush()
        guard PQputCopyEnd(connection.handle, nil) == 1 else { throw PostgresError(result: nil, connection: connection.handle, sql: sql) }
        var failure: PostgresError?
        while let result = PQgetResult(connection.handle) {
            if failure == nil, PQresultStatus(result) != PGRES_COMMAND_OK { failure = PostgresError(result: result, connection: connection.handle, sql: sql) }
            PQclear(result)
        }
        if let failure { throw failure }
    }

    private func flush() throws(PostgresError) {
        guard !buffer.isEmpty else { return }
        let sent = buffer.withUnsafeBufferPointer { bytes in
            bytes.withMemoryRebound(to: CChar.self) { PQputCopyData(connection.handle, $0.baseAddress, Int32($0.count)) }
        }
        guard sent == 1 else { throw PostgresError(result: nil, connection: connection.handle, sql: sql) }
        buffer.removeAll(keepingCapacity: true)
    }

    /// COPY's text format: backslash, tab, newline and carriage return are escaped; the rest is
    /// copied as is, in runs. PostgreSQL's text cannot hold a NUL at all: one (only ever in a row
    /// rejected for it, shown on the Rejected sheet) becomes U+FFFD, the replacement character.
    static func escape(_ bytes: UnsafeBufferPointer<UInt8>, into buffer: inout [UInt8]) {
        var start = 0
        for (index, byte) in bytes.enumerated() {
            let escaped: UInt8
            switch byte {
            case 0:
                buffer.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<index]))
                buffer.append(contentsOf: [0xEF, 0xBF, 0xBD])
                start = index + 1
                continue
            case UInt8(ascii: "\\"): escaped = UInt8(ascii: "\\")
            case UInt8(ascii: "\t"): escaped = UInt8(ascii: "t")
            case UInt8(ascii: "\n"): escaped = UInt8(ascii: "n")
            case UInt8(ascii: "\r"): escaped = UInt8(ascii: "r")
            default: continue
            }
            buffer.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<index]))
            buffer.append(UInt8(ascii: "\\"))
            buffer.append(escaped)
            start = index + 1
        }
        buffer.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start...]))
    }
}
