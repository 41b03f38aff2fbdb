/// One partner's stored customers, each as one 64-bit fingerprint of its id and its row digest,
/// in memory, for a file whose ids do not follow the table's order.
///
/// There a digest lookup on the cursor is a search: a B-tree descent and, since the lookup
/// connection caches little of a large table, a 16 KiB page read from the operating system's
/// cache for about every row, some 4.5 µs each, with most of it the kernel copying pages. This
/// table answers the question a re-send asks of nearly every row, "is this customer stored with
/// this digest?", from memory in any order; the rows it says no to (changed or new, a few in a
/// nightly file) go on to the cursor, which says which of the two and reads the stored values.
///
/// It holds 8 bytes per customer stored with a digest (a million take 8 MiB), placed by the top
/// bits of the id's hash. It is read in two passes over the partner's rows in the lookup
/// connection's snapshot, the first counting, so the memory is taken once at its exact size; and
/// it is built only for a file whose ids came behind the cursor many times (see
/// ``StoredDigests``), never for a sorted one.
///
/// A yes is nearly as exact as the digest's own verdict. The fingerprint mixes the id's hash
/// (``IDHash``) and the digest into 64 bits, and a row is checked against the customers whose id
/// hash shares its top 16 bits (about count / 65,536 of them); another customer, or this one with
/// other values, gives the same fingerprint with a chance of about one in 2^64 each. So a wrong
/// "unchanged" has a chance of about 2^-64 × count / 65,536 per row: at 4M customers about
/// 2^-58, where the cursor's digest comparison has 2^-64. Customers stored without a digest
/// (written by the API or an undo) are left out: no row matches them.
struct StoredDigestTable {
    /// Grouped by bucket (the top ``bucketBits`` bits of the id's hash), in no order within one.
    private var fingerprints: [UInt64]
    /// Where each bucket's fingerprints start; one more at the end.
    private var bucketStarts: [Int32]

    private static let bucketBits = 16
    private static let buckets = 1 << bucketBits

    /// The fingerprint of a customer with id hash `idHash` and row digest `digest`: the pair mixed
    /// by SplitMix64's finalizer, a bijection, so distinct pairs part as 64-bit random values do.
    static func fingerprint(idHash: UInt64, digest: Int64) -> UInt64 {
        var z = idHash ^ (UInt64(bitPattern: digest) &* 0x9E37_79B9_7F4A_7C15)
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    private static func bucket(of idHash: UInt64) -> Int { Int(idHash >> UInt64(64 - bucketBits)) }

    /// Reads the id and digest of each row `scan` gives (columns 0 and 1; the statement bound and
    /// run twice, so it must see the same rows both times: one read transaction), or gives up
    /// and returns nil past `limit` rows.
    init?(scan: Statement, limit: Int) throws(SQLiteError) {
        /// The next row's id hash and digest; nil inside for a customer stored without one.
        func nextRow() throws(SQLiteError) -> (idHash: UInt64, digest: Int64)?? {
            guard try scan.step() else { return .none }
            if scan.isNull(1) { return .some(nil) }
            return (scan.withText(0) { IDHash.of($0) }, scan.int(1))
        }
        var counts = [Int32](repeating: 0, count: Self.buckets + 1)
        var rows = 0, total = 0
        while let next = try nextRow() {
            rows += 1
            guard rows <= limit else { return nil }
            guard let row = next else { continue }
            counts[Self.bucket(of: row.idHash) + 1] += 1
            total += 1
        }
        scan.rewind()
        try self.init(count: total, starts: counts) { place throws(SQLiteError) in
            while let next = try nextRow() { if let row = next { place(row.idHash, row.digest) } }
        }
    }

    /// A table of these pairs of id hash and digest, nil for a customer stored without one.
    init(pairs: [(hash: UInt64, digest: Int64?)]) {
        let stored = pairs.compactMap { pair in pair.digest.map { (pair.hash, $0) } }
        var counts = [Int32](repeating: 0, count: Self.buckets + 1)
        for (hash, _) in stored { counts[Self.bucket(of: hash) + 1] += 1 }
        self.init(count: stored.count, starts: counts) { place in for (hash, digest) in stored { place(hash, digest) } }
    }

    /// Lays out the fingerprints of `count` customers, `starts` holding each bucket's count one
    /// place on, whose id hashes and digests `fill` gives to `place` again.
    private init<E: Error>(count: Int, starts counts: [Int32], fill: ((UInt64, Int64) -> Void) throws(E) -> Void) throws(E) {
        precondition(count < Int(Int32.max))
        var starts = counts
        for bucket in 0..<Self.buckets { starts[bucket + 1] += starts[bucket] }
        var next = starts
        var fingerprints = [UInt64](repeating: 0, count: count)
        try fill { idHash, digest in
            let bucket = Self.bucket(of: idHash)
            fingerprints[Int(next[bucket])] = Self.fingerprint(idHash: idHash, digest: digest)
            next[bucket] += 1
        }
        // The second pass read what the first counted (one snapshot).
        precondition(next.dropLast().elementsEqual(starts.dropFirst()))
        self.fingerprints = fingerprints
        bucketStarts = starts
    }

    var count: Int { fingerprints.count }

    /// Whether a customer with id hash `idHash` is stored with row digest `digest`.
    func contains(idHash: UInt64, digest: Int64) -> Bool {
        let print = Self.fingerprint(idHash: idHash, digest: digest)
        let bucket = Self.bucket(of: idHash)
        return fingerprints[Int(bucketStarts[bucket])..<Int(bucketStarts[bucket + 1])].contains(print)
    }
}
