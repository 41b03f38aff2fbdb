/// A fixed-size scratch buffer for chunked I/O, freed when its single owner goes away.
///
/// Used instead of `[UInt8]` + `withUnsafeMutableBytes` where the body throws a typed error,
/// because the array's closure APIs only rethrow untyped errors.
public struct ChunkBuffer: ~Copyable {
    public let raw: UnsafeMutableRawBufferPointer

    /// Allocates `count` bytes, 16-byte aligned; their contents are undefined until written.
    public init(count: Int) {
        raw = .allocate(byteCount: count, alignment: 16)
    }

    deinit { raw.deallocate() }

    /// The first `count` bytes, read-only.
    public func prefix(_ count: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: raw[0..<count])
    }
}
