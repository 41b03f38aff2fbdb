#if canImport(Glibc)
import Glibc
#endif

/// The external_ids an import met and left unwritten (unchanged, skipped, refused), with the row
/// that first did: a later row repeating one of them is rejected as a duplicate. Exact, and
/// bounded in memory.
///
/// A nightly re-send leaves nearly every row unwritten, so this set sees a million inserts per
/// million rows; a B-tree insert each (a temporary table) cost a quarter of such an import. The
/// ids live instead in an arena, found through an open-addressing table of hash tags (``IDHash``,
/// seeded per process, so crafted ids cannot force collisions). Past `memoryBudget` bytes, everything
/// held so far moves, sorted, into a temporary table (sorted inserts append to the B-tree) and a
/// Bloom filter of what moved decides which later lookups must ask that table; memory then
/// starts over. A million ten-byte ids take about 24 MB (16 in the arena, 8 in the table),
/// so a re-send of that size never spills.
final class UnwrittenRows {
    private let database: Database
    private let memoryBudget: Int
    /// 0 is empty; otherwise the hash's top 7 bits above the entry's arena offset + 1 (25 bits:
    /// the arena never passes the budget, at most 32 MiB). Four bytes a slot keep the table at
    /// about a third of the memory.
    private var slots: [UInt32]
    private var count = 0
    /// Per entry: the row (4 bytes, little-endian), the id's length (2), its UTF-8 bytes.
    private var arena: [UInt8] = []
    private var spilled: Spilled?

    /// What moved to the temporary table, and a Bloom filter of it.
    private struct Spilled {
        var insert: Statement
        var find: Statement
        var moved: BloomFilter
    }

    static let defaultMemoryBudget = 32 << 20
    private static let initialSlots = 4096

    init(database: Database, memoryBudget: Int = UnwrittenRows.defaultMemoryBudget) {
        self.database = database
        self.memoryBudget = min(memoryBudget, (1 << 25) - (1 << 16))
        slots = [UInt32](repeating: 0, count: Self.initialSlots)
    }

    /// Records `id` (of ``IDHash`` `hash`, computed when nil), left unwritten at `row`; returns
    /// nil when it is new, or the earlier row when the import met it before.
    func insert(_ id: String, hash: UInt64? = nil, row: Int) throws(SQLiteError) -> Int? {
        // withUTF8's closure cannot throw a typed error: the outcome travels as a Result.
        var utf8 = id
        return try utf8.withUTF8 { bytes -> Result<Int?, SQLiteError> in
            do throws(SQLiteError) {
                // The arena keeps lengths in two bytes; the field rules allow far less.
                guard bytes.count <= 0xFFFF else { throw SQLiteError(code: 18 /* SQLITE_TOOBIG */, message: "an external_id of \(bytes.count) bytes is too long to track") }
                // A hash that is not the id's would put the entry where `grow` cannot find it.
                assert(hash == nil || hash == IDHash.of(bytes))
                let hash = hash ?? IDHash.of(bytes)
                if let earlier = try find(bytes, hash: hash, id: id) { return .success(earlier) }
                if count > 0 && bytesAfterAdding(bytes.count) > memoryBudget { try spill() }
                add(bytes, hash: hash, row: row)
                return .success(nil)
            } catch {
                return .failure(error)
            }
        }.get()
    }

    /// The row that first left `id` (of ``IDHash`` `hash`, computed when nil) unwritten, if one did.
    func firstRow(of id: String, hash: UInt64? = nil) throws(SQLiteError) -> Int? {
        var utf8 = id
        return try utf8.withUTF8 { bytes -> Result<Int?, SQLiteError> in
            assert(hash == nil || hash == IDHash.of(bytes))
            do throws(SQLiteError) { return .success(try find(bytes, hash: hash ?? IDHash.of(bytes), id: id)) } catch { return .failure(error) }
        }.get()
    }

    // MARK: Memory

    private func find(_ bytes: UnsafeBufferPointer<UInt8>, hash: UInt64, id: String) throws(SQLiteError) -> Int? {
        if let row = findInMemory(bytes, hash: hash) { return row }
        guard let spilled, spilled.moved.mayContain(hash: hash) else { return nil }
        try spilled.find.bind(id, at: 1)
        defer { spilled.find.rewind() }
        return try spilled.find.step() ? Int(spilled.find.int(0)) : nil
    }

    private func findInMemory(_ bytes: UnsafeBufferPointer<UInt8>, hash: UInt64) -> Int? {
        let mask = slots.count - 1
        let tag = UInt32(hash >> 57)
        var index = Int(truncatingIfNeeded: hash) & mask
        return arena.withUnsafeBufferPointer { arena -> Int? in
            while case let slot = slots[index], slot != 0 {
                if slot >> 25 == tag {
                    let offset = Int(slot & 0x1FF_FFFF) - 1
                    let length = Int(arena[offset + 4]) | Int(arena[offset + 5]) << 8
                    if length == bytes.count && memcmp(arena.baseAddress! + offset + 6, bytes.baseAddress!, length) == 0 {
                        return Int(arena[offset]) | Int(arena[offset + 1]) << 8 | Int(arena[offset + 2]) << 16 | Int(arena[offset + 3]) << 24
                    }
                }
                index = (index + 1) & mask
            }
            return nil
        }
    }

    /// Whether adding an id of `length` bytes makes the table grow.
    private var isFull: Bool { (count + 1) * 4 > slots.count * 3 }

    /// The memory held after adding an id of `length` bytes (the arena and the table, grown if it must).
    private func bytesAfterAdding(_ length: Int) -> Int {
        arena.count + 6 + length + slots.count * 4 * (isFull ? 2 : 1)
    }

    private func add(_ bytes: UnsafeBufferPointer<UInt8>, hash: UInt64, row: Int) {
        if isFull { grow() }
        // The arena's room, reserved once it is clearly needed: growing it by copying would hold
        // the old and the new copy at once (its untouched pages cost no memory).
        if arena.count > 1 << 16 && arena.capacity < memoryBudget { arena.reserveCapacity(memoryBudget) }
        let offset = arena.count
        let row = UInt32(truncatingIfNeeded: row)
        // Byte by byte: an array literal here would allocate once per row.
        arena.append(UInt8(row & 0xFF))
        arena.append(UInt8(row >> 8 & 0xFF))
        arena.append(UInt8(row >> 16 & 0xFF))
        arena.append(UInt8(row >> 24))
        arena.append(UInt8(bytes.count & 0xFF))
        arena.append(UInt8(bytes.count >> 8))
        arena.append(contentsOf: bytes)
        place(hash: hash, offset: offset)
        count += 1
    }

    private func place(hash: UInt64, offset: Int) {
        let mask = slots.count - 1
        var index = Int(truncatingIfNeeded: hash) & mask
        while slots[index] != 0 { index = (index + 1) & mask }
        slots[index] = UInt32(hash >> 57) << 25 | UInt32(offset + 1)
    }

    /// Doubles the table, placing every entry again from its bytes.
    private func grow() {
        slots = [UInt32](repeating: 0, count: slots.count * 2)
        forEachEntry { offset, bytes, _ in place(hash: IDHash.of(bytes), offset: offset) }
    }

    private func forEachEntry(_ body: (Int, UnsafeBufferPointer<UInt8>, Int) throws(SQLiteError) -> Void) rethrows {
        try arena.withUnsafeBufferPointer { arena in
            var offset = 0
            while offset < arena.count {
                let row = Int(arena[offset]) | Int(arena[offset + 1]) << 8 | Int(arena[offset + 2]) << 16 | Int(arena[offset + 3]) << 24
                let length = Int(arena[offset + 4]) | Int(arena[offset + 5]) << 8
                try body(offset, UnsafeBufferPointer(rebasing: arena[(offset + 6)..<(offset + 6 + length)]), row)
                offset += 6 + length
            }
        }
    }

    // MARK: Spilling

    /// Moves every entry held in memory into the temporary table, in byte order, and into the
    /// Bloom filter; memory starts over.
    private func spill() throws(SQLiteError) {
        if spilled == nil {
            try database.execute("""
                CREATE TEMP TABLE IF NOT EXISTS import_unwritten (external_id TEXT PRIMARY KEY, row INTEGER NOT NULL) WITHOUT ROWID;
                DELETE FROM temp.import_unwritten;
                """)
            spilled = Spilled(
                insert: try database.cachedStatement("INSERT INTO temp.import_unwritten (external_id, row) VALUES (?1, ?2)"),
                find: try database.cachedStatement("SELECT row FROM temp.import_unwritten WHERE external_id = ?1"),
                // 8 MiB of bits, four probes: about one false positive in 7,000 lookups at a
                // million spilled ids and one in 20 at ten million, each costing one point lookup.
                moved: BloomFilter(bits: 1 << 26, probes: 4))
        }
        var entries: [(offset: Int, length: Int)] = []
        entries.reserveCapacity(count)
        forEachEntry { offset, bytes, _ in entries.append((offset, bytes.count)) }
        arena.withUnsafeBufferPointer { arena in
            let base = arena.baseAddress!
            entries.sort { a, b in
                let common = min(a.length, b.length)
                let order = memcmp(base + a.offset + 6, base + b.offset + 6, common)
                return order != 0 ? order < 0 : a.length < b.length
            }
        }
        guard var target = spilled else { return }
        spilled = nil // the Bloom filter's bits are now uniquely `target`'s: set in place, not copied
        for entry in entries {
            let bytes = Array(arena[(entry.offset + 6)..<(entry.offset + 6 + entry.length)])
            let row = Int(arena[entry.offset]) | Int(arena[entry.offset + 1]) << 8 | Int(arena[entry.offset + 2]) << 16 | Int(arena[entry.offset + 3]) << 24
            let hash = bytes.withUnsafeBufferPointer { IDHash.of($0) }
            target.moved.insert(hash: hash)
            try target.insert.bind(String(decoding: bytes, as: UTF8.self), at: 1)
            try target.insert.bind(Int64(row), at: 2)
            try target.insert.runBound()
        }
        spilled = target
        arena.removeAll(keepingCapacity: true)
        slots = [UInt32](repeating: 0, count: Self.initialSlots)
        count = 0
    }
}
