#if canImport(Glibc)
import Glibc
#endif
import Foundation
import IntakeRead
import IntakeTestSupport
import Testing

/// The watcher's test for "this XLSX upload is complete": the zip's directory record at the end.
@Suite struct ZipTailTests {
    @Test func completeTruncatedAndCommentedArchives() throws {
        try withTemporaryDirectory { dir in
            let whole = dir + "/whole.xlsx"
            try ZipBuilder.write(whole, [.init("a.xml", String(repeating: "<a/>", count: 5_000)), .init("b.xml", "<b/>")])
            #expect(ZipTail.isComplete(whole))

            // Cut anywhere before its last 22 bytes, as a dropped upload is: not complete.
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: whole)))
            for cut in [bytes.count - 1, bytes.count - 22, bytes.count / 2, 21, 0] {
                try writeFile(dir + "/cut.xlsx", Array(bytes[0..<cut]))
                #expect(!ZipTail.isComplete(dir + "/cut.xlsx"), "cut at \(cut) of \(bytes.count)")
            }

            // A comment after the record (up to 64 KiB) still ends a complete archive.
            var commented = bytes
            let comment = Array(repeating: UInt8(ascii: "c"), count: 40_000)
            commented[commented.count - 2] = UInt8(comment.count & 0xFF)
            commented[commented.count - 1] = UInt8(comment.count >> 8)
            try writeFile(dir + "/commented.xlsx", commented + comment)
            #expect(ZipTail.isComplete(dir + "/commented.xlsx"))

            // A link is not followed, a missing file is not complete.
            #expect(symlink(whole, dir + "/link.xlsx") == 0)
            #expect(!ZipTail.isComplete(dir + "/link.xlsx"))
            #expect(!ZipTail.isComplete(dir + "/missing.xlsx"))
        }
    }
}
