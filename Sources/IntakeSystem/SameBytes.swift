#if canImport(Glibc)
import Glibc
#endif

extension String {
    /// Calls `body` with the string's UTF-8 bytes: in place for a native or small string, without
    /// the copy of the string that `withUTF8` needs (a `var`: a retain and a release, per value on
    /// the hot paths of an import); a bridged string, never one Intake makes, is copied first.
    /// Inlinable, so that callers in other modules get it specialized rather than generic.
    @inlinable
    public func withUTF8Bytes<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        if let result = utf8.withContiguousStorageIfAvailable(body) { return result }
        var contiguous = self
        return contiguous.withUTF8(body)
    }

    /// Whether two texts (nil for SQL NULL) are the same bytes. Swift's `==` on strings is
    /// canonical equivalence: it calls "é" precomposed and "é" decomposed equal, while a database
    /// stores and compares the bytes, so a value that changed only in its form is a change.
    ///
    /// One `memcmp` over the strings' contiguous UTF-8 (native and small strings have it), since
    /// this runs for every value of every changed row of a file; a byte-by-byte walk of the views
    /// is the fallback.
    public static func sameBytes(_ a: String?, _ b: String?) -> Bool {
        switch (a, b) {
        case (nil, nil): return true
        case let (a?, b?):
            let count = a.utf8.count
            guard count == b.utf8.count else { return false }
            if count == 0 { return true }
            let compared = a.utf8.withContiguousStorageIfAvailable { x in
                b.utf8.withContiguousStorageIfAvailable { y in memcmp(x.baseAddress!, y.baseAddress!, count) == 0 }
            }
            return (compared ?? nil) ?? a.utf8.elementsEqual(b.utf8)
        default: return false
        }
    }

    /// How `a` orders against `b` as SQLite's BINARY collation orders text, the order of a text
    /// key: byte by byte (`memcmp`), then the shorter first. Negative, zero or positive. Not
    /// Swift's `<`, which orders by Unicode scalars after normalization.
    public static func binaryOrder(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
        let common = Swift.min(a.count, b.count)
        if common > 0, case let order = memcmp(a.baseAddress!, b.baseAddress!, common), order != 0 { return Int(order) }
        return a.count - b.count
    }

    /// ``binaryOrder(_:_:)-(UnsafeRawBufferPointer,_)`` of two texts.
    public static func binaryOrder(_ a: String, _ b: String) -> Int {
        a.withUTF8Bytes { x in b.withUTF8Bytes { y in binaryOrder(UnsafeRawBufferPointer(x), UnsafeRawBufferPointer(y)) } }
    }
}
