import Foundation
import IntakeStore
import IntakeSystem
import IntakeValidate

/// The digest of a file row as ``StoredDigests`` (IntakeStore) keeps it with the customer the
/// row wrote: SipHash-2-4 keyed with the database's secret, over everything that decides what
/// the row stores (Intake's release and the field rules' revision, which normalize the cells; the
/// partner's mode and timestamp rules; the header and where its columns went after the partner's
/// aliases; the row's cells). The same bytes under other
/// rules digest differently, so they are validated and compared in full. Without the secret, a
/// partner cannot make two rows with one digest.
///
/// The rules are hashed once; each row continues from a copy of that state.
struct RowDigester: Sendable {
    private let prefix: SipHash24

    init(key: String, columns: ColumnMap, policy: ImportPolicy) {
        // The secret is 64 hex digits; its first 32 are the hash key.
        let bytes = stride(from: 0, to: 32, by: 2).map { i -> UInt8 in
            let digits = key.utf8.dropFirst(i).prefix(2)
            return UInt8(String(decoding: digits, as: UTF8.self), radix: 16) ?? 0
        }
        let words = bytes.withUnsafeBytes { ($0.loadUnaligned(fromByteOffset: 0, as: UInt64.self), $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self)) }
        var hasher = SipHash24(k0: UInt64(littleEndian: words.0), k1: UInt64(littleEndian: words.1))
        var rules: [String] = ["intake row digest", key, IntakeVersion.string, String(FieldRules.revision), policy.mode.rawValue]
        if let timestamps = policy.timestamps {
            rules += ["formats"] + timestamps.formats
            // A time zone's rules change with the time zone data Foundation reads.
            if let zone = timestamps.timeZone { rules += ["zone", zone.identifier, TimeZone.timeZoneDataVersion] }
        }
        // The header as written, and where the columns went (after the partner's aliases): each
        // required column's cell, then each attribute's key and cell.
        rules += ["header"] + columns.header + ["required"]
        rules += RequiredColumn.allCases.map { columns.required[$0].map(String.init) ?? "-" }
        rules += ["attributes"] + columns.attributes.flatMap { [$0.key, String($0.index)] }
        for rule in rules { Self.feed(rule, to: &hasher) }
        prefix = hasher
    }

    /// The digest of a row with these cells.
    func digest(_ cells: [String]) -> Int64 {
        var hasher = prefix
        for cell in cells { Self.feed(cell, to: &hasher) }
        return Int64(bitPattern: hasher.finalize())
    }

    /// A text as its length (4 bytes) and its UTF-8 bytes, so no two lists of cells run together
    /// into the same bytes.
    private static func feed(_ text: String, to hasher: inout SipHash24) {
        text.withUTF8Bytes { utf8 in
            hasher.update(UInt32(truncatingIfNeeded: utf8.count))
            hasher.update(UnsafeRawBufferPointer(utf8))
        }
    }
}
