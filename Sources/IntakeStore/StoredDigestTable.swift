/// One partner's stored row digests in memory, keyed by the hash of each customer's id
/// (``IDHash``), for a file whose ids do not follow the table's order.
///
/// There a digest lookup on the cursor is a search: a B-tree descent and, since the lookup
/// connection caches little of a large table, a 16 KiB page read from the operating system's
/// cache for about every row, some 4.5 µs each, with most of it the kernel copying pages. This
/// table answers from memory in any order. It holds 16 bytes per customer (a million customers
/// take 16 MiB), is read in one pass over the partner's rows in key order, and is built only
/// for a file that has already made many searches (see ``StoredDigests``), never for a sorted
/// one.
///
/// Its answers are as exact as the cursor's:
/// - "no such customer" only when no stored id has the row id's hash, and equal ids have equal
///   hashes;
/// - "it exists" when one stored id has that hash: the row's stored values are then searched for
///   by its own id (``StoredDigests/storedRow(of:)``), which finds none when the stored id was
///   another one with an equal hash, and the writer looks the customer up itself;
/// - "the same digest" when the one stored id with that hash has the row's digest. Were that
///   stored id another one whose hash happens to be equal, its digest would still have to equal
///   a digest of the row's own cells, id cell included: the same 64-bit chance on which the
///   digest's verdict rests anyway;
/// - anything else the cursor answers: a hash that several stored ids share, and a row whose
///   digest is the value that stands for a customer stored without one.
struct StoredDigestTable {
    private struct Entry {
        var hash: UInt64
        var digest: Int64
    }

    /// Sorted by hash.
    private var entries: [Entry]
    /// Where the entries whose hash begins with each ``bucketBits`` bits start; one more at the end.
    private var bucketStarts: [Int32]

    private static let bucketBits = 16
    /// The digest kept for a customer stored without one (written by the API or an undo), which
    /// no row matches.
    private static let noDigest = Int64.min

    /// Reads the id and digest of each row `scan` gives (columns 0 and 1, the statement bound and
    /// reset), or gives up and returns nil past `limit` rows.
    init?(scan: Statement, limit: Int) throws(SQLiteError) {
        var read: [Entry] = []
        while try scan.step() {
            guard read.count < limit else { return nil }
            let hash = scan.withText(0) { IDHash.of($0) }
            read.append(Entry(hash: hash, digest: scan.isNull(1) ? Self.noDigest : scan.int(1)))
        }
        self.init(sorting: read)
    }

    /// A table of these `(id hash, digest)` pairs, nil digests for customers stored without one.
    init(pairs: [(hash: UInt64, digest: Int64?)]) {
        self.init(sorting: pairs.map { Entry(hash: $0.hash, digest: $0.digest ?? Self.noDigest) })
    }

    private init(sorting entries: [Entry]) {
        var entries = entries
        entries.sort { $0.hash < $1.hash }
        precondition(entries.count < Int(Int32.max))
        var starts = [Int32](repeating: 0, count: (1 << Self.bucketBits) + 1)
        var next = 0
        for bucket in 0..<(1 << Self.bucketBits) {
            starts[bucket] = Int32(next)
            while next < entries.count, Self.bucket(of: entries[next].hash) == bucket { next += 1 }
        }
        starts[1 << Self.bucketBits] = Int32(entries.count)
        self.entries = entries
        bucketStarts = starts
    }

    var count: Int { entries.count }

    private static func bucket(of hash: UInt64) -> Int { Int(hash >> UInt64(64 - bucketBits)) }

    /// What the table says of a row with id hash `hash` and digest `digest`: nil when the cursor
    /// must answer (see the type's notes).
    func lookUp(hash: UInt64, digest: Int64) -> StoredDigests.Lookup? {
        let bucket = Self.bucket(of: hash)
        var low = Int(bucketStarts[bucket]), high = Int(bucketStarts[bucket + 1])
        while low < high {
            let middle = (low + high) / 2
            if entries[middle].hash < hash { low = middle + 1 } else { high = middle }
        }
        guard low < entries.count, entries[low].hash == hash else { return .differs(exists: false) }
        if low + 1 < entries.count && entries[low + 1].hash == hash { return nil }
        let stored = entries[low].digest
        if digest == Self.noDigest { return nil }
        return stored == digest ? .sameDigest : .differs(exists: true)
    }
}
