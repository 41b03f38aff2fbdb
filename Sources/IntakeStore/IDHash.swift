/// The 64-bit hash of an external_id that a file writer's repeat checks share (``BloomFilter``,
/// ``UnwrittenRows``): Swift's hasher over the id's UTF-8 bytes, seeded per process, so crafted
/// ids cannot aim at a filter's bits or a table's slots, and the same on every thread. A file's
/// row gets it on the validating thread (``CustomerUpdate/idHash``), so the storing thread, the
/// one that bounds an edited file, does not hash.
public enum IDHash {
    public static func of(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var hasher = Hasher()
        hasher.combine(bytes: UnsafeRawBufferPointer(bytes))
        return UInt64(bitPattern: Int64(hasher.finalize()))
    }

    public static func of(_ id: String) -> UInt64 {
        var id = id
        return id.withUTF8 { of($0) }
    }
}
