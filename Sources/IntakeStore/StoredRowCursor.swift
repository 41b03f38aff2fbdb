/// Finds one partner's customers by external_id for the ids of a file, in the file's order, on
/// one cursor kept open over the customers table in key order.
///
/// A search from scratch per row (a statement run, root to leaf) costs about 1.4 µs; a step of
/// an open cursor about 0.3 µs. Partners' exports mostly list customers sorted by id; when the
/// ids ascend in the table's order (bytes, so fixed-width numbers or codes, not "9" before
/// "10"), the next row's customer is the next one in the table or a few further: the cursor
/// steps forward to it, and searches only when the id lies behind it or more than
/// ``walkSteps`` rows ahead. A file in another order makes walks fail; after
/// ``failedWalksBeforeSearching`` failed walks since the last one that arrived, the cursor only
/// searches for ``searchesBeforeWalking`` rows, then tries walking again, so such a file costs
/// about what a search per row costs.
///
/// The answers do not depend on the order: they rest only on the table's key order in this
/// connection's snapshot. The cursor says a customer exists only when it stands on that key; it
/// says none exists only when the key lies in a stretch it knows to be empty: from a key it
/// searched from, or stepped past from a smaller row (consecutive rows, so nothing lies
/// between), up to the row it then landed on, or to the end when no row was left. New customers
/// inserted together between two stored ones are answered from that stretch, one search at most.
final class StoredRowCursor {
    private let statement: Statement
    private let partner: String
    /// Whether the cursor stands on a row.
    private var onRow = false
    /// No customer has a key from this one up to the row the cursor stands on (or at all after
    /// it, when the cursor stands on none); nil when no such stretch is known.
    private var emptyFrom: String?
    private var failedWalks = 0
    /// Rows left to search for without walking first.
    private var searchesLeft = 0
    /// Searches for an id that lies behind the cursor: how far the file's order is from the
    /// table's. A file sorted in the table's order makes none, however far apart its ids lie
    /// (new ids between two stored ones are answered from the stretch known to be empty); one
    /// whose ids change width ("99" before "100") makes one per change; a shuffled one makes
    /// one for about every other row.
    private(set) var idsBehind = 0

    static let walkSteps = 8
    static let failedWalksBeforeSearching = 8
    static let searchesBeforeWalking = 1024

    /// The columns of ``StoredRow/selectSQL`` in its order (so ``row`` reads them as it does),
    /// then the key.
    static let sql = """
        SELECT email, name, phone, created_at, custom_attributes, updated_by_import, updated_at, import_row, row_digest, external_id
        FROM customers WHERE partner = ?1 AND external_id >= ?2 ORDER BY external_id
        """
    private static let keyColumn: Int32 = 9
    private static let digestColumn: Int32 = 8

    /// A cursor over `partner`'s customers on `database`, which must stay in one read transaction
    /// while the cursor is used.
    init(database: Database, partner: String) throws(SQLiteError) {
        statement = try database.cachedStatement(Self.sql)
        self.partner = partner
    }

    /// Moves to customer `externalID`; true when there is one, and then ``digest`` and ``row``
    /// are its.
    func move(to externalID: String) throws(SQLiteError) -> Bool {
        var order = onRow ? statement.compareText(Self.keyColumn, externalID) : 1
        if order == 0 { return true }
        // Behind the cursor (or past every row).
        if order > 0 {
            if let emptyFrom, String.binaryOrder(externalID, emptyFrom) >= 0 { return false }
            if onRow { idsBehind += 1 }
            return try search(externalID)
        }
        if searchesLeft > 0 {
            searchesLeft -= 1
            return try search(externalID)
        }
        for _ in 0..<Self.walkSteps {
            guard try advance() else {
                // Stepped from a smaller key off the partner's rows.
                emptyFrom = externalID
                return false
            }
            order = statement.compareText(Self.keyColumn, externalID)
            if order >= 0 {
                failedWalks = 0
                // Past it: the row before was smaller, so there is none from this key to here.
                if order > 0 { emptyFrom = externalID }
                return order == 0
            }
        }
        failedWalks += 1
        if failedWalks == Self.failedWalksBeforeSearching {
            failedWalks = 0
            searchesLeft = Self.searchesBeforeWalking
        }
        return try search(externalID)
    }

    /// Whether the cursor stands on customer `externalID`.
    func isOn(_ externalID: String) -> Bool {
        onRow && statement.compareText(Self.keyColumn, externalID) == 0
    }

    /// The stored digest of the customer the cursor stands on.
    var digest: Int64? { statement.isNull(Self.digestColumn) ? nil : statement.int(Self.digestColumn) }

    /// The customer the cursor stands on.
    var row: StoredRow { StoredRow(statement) }

    /// Steps to the next row; false past the partner's last one. A failed step leaves the
    /// cursor knowing of no row, so the next move searches.
    private func advance() throws(SQLiteError) -> Bool {
        emptyFrom = nil
        do {
            onRow = try statement.step()
        } catch {
            onRow = false
            throw error
        }
        return onRow
    }

    private func search(_ externalID: String) throws(SQLiteError) -> Bool {
        statement.rewind()
        onRow = false
        emptyFrom = nil
        try statement.bind(partner, at: 1)
        try statement.bind(externalID, at: 2)
        // Landed at or past it: nothing lies between.
        guard try advance(), statement.compareText(Self.keyColumn, externalID) == 0 else {
            emptyFrom = externalID
            return false
        }
        return true
    }
}
