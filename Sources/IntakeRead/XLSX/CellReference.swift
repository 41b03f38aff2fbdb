#if canImport(Glibc)
import Glibc
#endif

/// The numbers a worksheet's attributes and values carry (`r="B12"`, `r="7"`, `s="3"`, a shared
/// string's index), read straight from expat's bytes without making Strings: this runs for every
/// cell of a sheet. Digits only: no sign, exponent or hex, which a partner's file may still send.
enum CellReference {
    /// The zero-based column of a reference like `B12` or `b12` (some writers use lower case);
    /// an absurd one comes back as ``SheetParser/maxColumns``, past the last column.
    static func column(_ ref: UnsafePointer<CChar>) -> Int? {
        var column = 0
        var i = 0
        while true {
            var c = UInt8(bitPattern: ref[i])
            if c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z") { c -= 32 }
            guard c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z") else { break }
            column = column * 26 + Int(c - UInt8(ascii: "A") + 1)
            // Stop before an absurd reference can overflow.
            if column > SheetParser.maxColumns { return SheetParser.maxColumns }
            i += 1
        }
        return i == 0 ? nil : column - 1
    }

    /// A row reference's number, saturating past the last row so that a huge one is reported
    /// as out of range rather than overflowing.
    static func rowNumber(_ text: UnsafePointer<CChar>) -> Int? {
        number(bytes(text), saturatingAt: SheetParser.maxRows + 1)
    }

    /// A style or shared-string index; nil past `Int32.max`, which no table can reach.
    static func index(_ text: UnsafePointer<CChar>) -> Int? {
        index(bytes(text))
    }

    static func index<Digits: Sequence<UInt8>>(_ digits: Digits) -> Int? {
        number(digits, saturatingAt: Int(Int32.max) + 1).flatMap { $0 > Int(Int32.max) ? nil : $0 }
    }

    /// The decimal number `digits` spell, at most `cap`; nil for none or anything but digits.
    private static func number<Digits: Sequence<UInt8>>(_ digits: Digits, saturatingAt cap: Int) -> Int? {
        var n = 0
        var any = false
        for c in digits {
            guard c >= 0x30 && c <= 0x39 else { return nil }
            n = min(n * 10 + Int(c - 0x30), cap)
            any = true
        }
        return any ? n : nil
    }

    private static func bytes(_ text: UnsafePointer<CChar>) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: UnsafeRawPointer(text).assumingMemoryBound(to: UInt8.self), count: strlen(text))
    }
}
