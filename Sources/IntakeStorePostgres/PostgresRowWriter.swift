import IntakeStore

/// Applies one file's rows to PostgreSQL set-based: every row goes into a temporary table with
/// `COPY`, and after the last one a few statements decide and write them all.
///
/// 1. `intake_plan` gives every row its status: rejected before the store, a repeat of an
///    earlier row's external_id (rejected, as SQLite's writer does), or, for the first row of an
///    id, joined with the stored customer: created, updated, unchanged, skipped, already exists
///    (create-only), not found (update-only).
/// 2. One `INSERT` creates, one `UPDATE` changes, one `INSERT` logs each change's values before
///    (for undo) and after (for history). Unchanged rows are not written.
/// 3. The rows come back in file order (libpq's single-row mode), rejected ones with their cells,
///    for the result workbook.
///
/// "Unchanged" is exact, as in SQLite: in `merge` every given field and attribute equals what is
/// stored (an empty cell keeps the stored value), in `replace` every field and the attributes'
/// text (so their order too).
final class PostgresRowWriter: CustomerRowWriter {
    private let connection: PostgresConnection
    private let partner: String
    private let importID: Int64
    private let mode: ImportMode
    private let now: String
    private let copy: CopyIn
    /// Rows staged so far.
    private var staged = 0
    /// From this many rows on, the file is joined whole against the partner's customers rather
    /// than looked up row by row (about where a scan of a large partner costs less).
    static let setBasedRows = 20_000
    /// The ids this file brought so far, as a Bloom filter: flat memory for any file.
    private var seen = BloomFilter(bits: 1 << 24)

    var defersVerdicts: Bool { true }

    init(connection: PostgresConnection, partner: String, importID: Int64, mode: ImportMode, now: String) throws(PostgresError) {
        self.connection = connection
        self.partner = partner
        self.importID = importID
        self.mode = mode
        self.now = now
        // Dropped at the transaction's end, committed or rolled back (a check).
        try connection.execute("""
            CREATE TEMP TABLE intake_rows (
                row bigint NOT NULL, external_id text COLLATE "C" NOT NULL, email text, name text, phone text, created_at text,
                attributes text, rejection text, cells text, shown_id text
            ) ON COMMIT DROP;
            """)
        copy = try connection.copyIn("COPY intake_rows FROM STDIN")
    }

    func take(_ customer: CustomerUpdate, row: Int, shownID: String, cells: [String]) throws -> UpsertResult? {
        staged += 1
        copy.integer(row)
        copy.field(customer.externalID)
        copy.field(customer.email)
        copy.field(customer.name)
        copy.field(customer.phone)
        copy.field(customer.createdAt)
        copy.field(customer.attributesJSON)
        copy.null()
        // The cells travel only with a row the plan may reject, for the Rejected sheet: any row
        // in create-only and update-only, else only a repeat of an id, which `seen` tells
        // (a false "maybe" sends cells for nothing; a repeat is never missed).
        if mode == .createOnly || mode == .updateOnly || seen.insert(customer.externalID) {
            copy.packed(cells)
        } else {
            copy.null()
        }
        // The id as the file wrote it (spaces and all), for the result workbook, when it differs.
        copy.field(shownID == customer.externalID ? nil : shownID)
        try copy.endRow()
        return nil
    }

    /// Never called: this store keeps no row digests (``PostgresImportStore`` offers none), as
    /// its plan decides "unchanged" for every row in one statement.
    func takeSameAsStored(externalID: String, idHash: UInt64, row: Int) throws -> UpsertResult {
        throw PostgresError(message: "the PostgreSQL store keeps no row digests")
    }

    func reject(row: Int, externalID: String, message: String, cells: [String]) throws {
        staged += 1
        copy.integer(row)
        copy.field(externalID)
        for _ in 0..<5 { copy.null() }
        copy.field(message)
        copy.packed(cells)
        copy.null()
        try copy.endRow()
    }

    func finishRows(checkpoint: () throws -> Void, _ each: (DeferredVerdict) throws -> Void) throws {
        try copy.finish()
        try checkpoint()
        let parameters: [String?] = [partner, String(importID), now]
        // The staged rows have no statistics, and the planner's guess (a few hundred rows) makes
        // it look each one up through the index: right for a small file, while for a large one a
        // hash join of the whole file against the partner's customers is the plan that scales.
        // The memory lets that join and the final sort by row stay in memory for a million rows.
        if staged >= Self.setBasedRows { try connection.execute("SET LOCAL enable_nestloop = off; SET LOCAL work_mem = '256MB'") }
        // The ids the file repeats, usually none: a hash aggregate, no sort of the whole file.
        try connection.execute("""
            CREATE TEMP TABLE intake_repeats ON COMMIT DROP AS
            SELECT external_id, min(row) AS first_row FROM intake_rows WHERE rejection IS NULL
            GROUP BY external_id HAVING count(*) > 1
            """)
        try connection.query(planSQL, [partner])
        try checkpoint()
        try connection.query("""
            INSERT INTO customers (partner, external_id, email, name, phone, created_at, custom_attributes,
                                   created_by_import, updated_by_import, updated_at, import_row)
            SELECT $1, external_id, email, name, phone, created_at, attributes::json, $2::bigint, $2::bigint, $3, row
            FROM intake_plan WHERE status = 'created'
            """, parameters)
        try checkpoint()
        try connection.query(updateSQL, parameters)
        try checkpoint()
        try connection.query("""
            INSERT INTO customer_changes (partner, import_id, external_id, action, before, after, changed_at)
            SELECT $1, $2::bigint, p.external_id, 'updated',
                   intake_replaced(p.old_email, p.old_name, p.old_phone, p.old_created_at, p.old_attributes,
                                   c.email, c.name, c.phone, c.created_at, c.custom_attributes,
                                   p.old_by, p.old_at, p.old_row)::json,
                   NULL, $3
            FROM intake_plan p JOIN customers c ON c.partner = $1 AND c.external_id = p.external_id
            WHERE p.status = 'updated'
            ORDER BY p.row
            """, parameters)
        try checkpoint()
        var streamed = 0
        try connection.stream("""
            SELECT row, coalesce(shown_id, external_id), status, first_row, rejection, cells, external_id FROM intake_plan ORDER BY row
            """) { fields in
            let row = Int(fields[0] ?? "") ?? 0
            let externalID = fields[1] ?? ""
            let storedID = fields[6] ?? externalID
            streamed += 1
            if streamed % 4096 == 0 { try checkpoint() }
            let cells = fields[5].map(CellPacking.unpack) ?? []
            let result: UpsertResult
            switch fields[2] {
            case "rejected":
                try each(DeferredVerdict(row: row, externalID: externalID, outcome: .rejected(message: fields[4] ?? "", cells: cells)))
                return
            case "repeated": result = .repeated(firstRow: Int(fields[3] ?? "") ?? 0)
            case "created": result = .created
            case "updated": result = .updated
            case "unchanged": result = .unchanged
            case "skipped": result = .skipped
            case "already_exists": result = .alreadyExists
            default: result = .notFound
            }
            try each(DeferredVerdict(row: row, externalID: externalID, storedID: storedID, outcome: .stored(result, cells: cells)))
        }
    }

    /// Every staged row with its status: rejected before the store, a repeat of an earlier row's
    /// id, or what the first row of an id does to the stored customer (whose values it carries,
    /// for the change log). Cells are kept only for the rows the Rejected sheet lists.
    private var planSQL: String {
        let found = "c.external_id IS NOT NULL"
        let status: String
        switch mode {
        case .createOnly: status = "CASE WHEN \(found) THEN 'already_exists' ELSE 'created' END"
        case .skipExisting: status = "CASE WHEN \(found) THEN 'skipped' ELSE 'created' END"
        case .merge, .replace, .updateOnly:
            let missing = mode == .updateOnly ? "'not_found'" : "'created'"
            status = "CASE WHEN NOT \(found) THEN \(missing) WHEN \(holds) THEN 'unchanged' ELSE 'updated' END"
        }
        return """
            CREATE TEMP TABLE intake_plan ON COMMIT DROP AS
            SELECT row, external_id, shown_id, email, name, phone, created_at, attributes, rejection, first_row,
                   old_email, old_name, old_phone, old_created_at, old_attributes, old_by, old_at, old_row, status,
                   CASE WHEN status IN ('rejected', 'repeated', 'already_exists', 'not_found') THEN cells END AS cells
            FROM (
                SELECT f.row, f.external_id, f.shown_id, f.email, f.name, f.phone, f.created_at, f.attributes, f.rejection, f.cells,
                       d.first_row,
                       c.email AS old_email, c.name AS old_name, c.phone AS old_phone, c.created_at AS old_created_at,
                       c.custom_attributes AS old_attributes, c.updated_by_import AS old_by, c.updated_at AS old_at,
                       c.import_row AS old_row,
                       CASE WHEN f.rejection IS NOT NULL THEN 'rejected'
                            WHEN d.first_row IS NOT NULL AND d.first_row <> f.row THEN 'repeated'
                            ELSE \(status) END AS status
                FROM intake_rows f
                LEFT JOIN intake_repeats d ON f.rejection IS NULL AND d.external_id = f.external_id
                LEFT JOIN customers c ON f.rejection IS NULL AND (d.first_row IS NULL OR d.first_row = f.row)
                                     AND c.partner = $1 AND c.external_id = f.external_id
            ) AS planned
            """
    }

    /// Whether the stored customer `c` already holds what row `f` gives, under this writer's mode.
    private var holds: String {
        let fields = ["email", "name", "phone", "created_at"]
        if mode == .replace {
            return (fields.map { "f.\($0) IS NOT DISTINCT FROM c.\($0)" } + ["f.attributes = c.custom_attributes::text"]).joined(separator: " AND ")
        }
        // The same text, or none given, is the common case of a file sent again, and needs no
        // JSON work; only the rest call the function, which compares key by key.
        let attributes = "(f.attributes = '{}' OR f.attributes = c.custom_attributes::text OR intake_attributes_hold(c.custom_attributes, f.attributes::json))"
        return (fields.map { "(f.\($0) IS NULL OR f.\($0) = c.\($0))" } + [attributes]).joined(separator: " AND ")
    }

    /// Writes the updated rows' merged (or, in `replace`, given) values.
    private var updateSQL: String {
        let fields = ["email", "name", "phone", "created_at"]
        let values = mode == .replace
            ? fields.map { "\($0) = p.\($0)" } + ["custom_attributes = p.attributes::json"]
            : fields.map { "\($0) = coalesce(p.\($0), c.\($0))" } + ["custom_attributes = intake_merge_attributes(c.custom_attributes, p.attributes::json)"]
        return """
            UPDATE customers c SET \(values.joined(separator: ", ")),
                   updated_by_import = $2::bigint, updated_at = $3, import_row = p.row
            FROM intake_plan p
            WHERE c.partner = $1 AND c.external_id = p.external_id AND p.status = 'updated'
            """
    }
}

/// A row's cells as one text value: each cell's UTF-8 length, a colon, and the cell. Reversible
/// for any text (no separator to escape), and cheap both ways; ``CopyIn/packed(_:)`` writes it.
enum CellPacking {
    static func unpack(_ packed: String) -> [String] {
        var cells: [String] = []
        let bytes = Array(packed.utf8)
        var index = 0
        while index < bytes.count {
            // Only what `CopyIn.packed` wrote comes here; a damaged value stops the cells, never traps.
            var length = 0
            while index < bytes.count, bytes[index] != UInt8(ascii: ":") {
                guard bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9"), length < Int.max / 20 else { return cells }
                length = length * 10 + Int(bytes[index] - UInt8(ascii: "0"))
                index += 1
            }
            index += 1
            let end = min(index + length, bytes.count)
            cells.append(String(decoding: bytes[index..<end], as: UTF8.self))
            index = end
        }
        return cells
    }
}
