import IntakeStore

/// Applies one file's rows to PostgreSQL set-based: every row goes into a temporary table with
/// `COPY`, and after the last one a few statements decide and write them all.
///
/// 1. `intake_plan` takes the first row of each external_id (a later one is a repeat, rejected
///    like SQLite's writer does) joined with the stored customer, and names its status: created,
///    updated, unchanged, skipped, already exists (create-only), not found (update-only).
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
                row bigint NOT NULL, external_id text NOT NULL, email text, name text, phone text, created_at text,
                attributes text, rejection text, cells text
            ) ON COMMIT DROP;
            SET LOCAL work_mem = '64MB';
            """)
        copy = try connection.copyIn("COPY intake_rows FROM STDIN")
    }

    func take(_ customer: CustomerUpdate, row: Int, cells: [String]) throws -> UpsertResult? {
        // The cells travel too: a row the plan rejects (a repeat, create-only, update-only) is
        // listed on the Rejected sheet with them.
        copy.integer(row)
        for field in [customer.externalID, customer.email, customer.name, customer.phone, customer.createdAt, customer.attributesJSON] {
            copy.field(field)
        }
        copy.null()
        copy.packed(cells)
        try copy.endRow()
        return nil
    }

    func reject(row: Int, externalID: String, message: String, cells: [String]) throws {
        copy.integer(row)
        copy.field(externalID)
        for _ in 0..<5 { copy.null() }
        copy.field(message)
        copy.packed(cells)
        try copy.endRow()
    }

    func finishRows(_ each: (DeferredVerdict) throws -> Void) throws {
        try copy.finish()
        let parameters: [String?] = [partner, String(importID), now]
        // The staged rows have no statistics, and the planner's guess (a few hundred rows) makes
        // it look each one up through the index; for a file of any size a merge or hash join of
        // the whole file against the partner's customers is the plan that scales.
        try connection.execute("SET LOCAL enable_nestloop = off")
        try connection.query(planSQL, [partner])
        try connection.query("""
            INSERT INTO customers (partner, external_id, email, name, phone, created_at, custom_attributes,
                                   created_by_import, updated_by_import, updated_at, import_row)
            SELECT $1, external_id, email, name, phone, created_at, attributes::json, $2::bigint, $2::bigint, $3, row
            FROM intake_plan WHERE status = 'created'
            """, parameters)
        try connection.query(updateSQL, parameters)
        try connection.query("""
            INSERT INTO customer_changes (partner, import_id, external_id, action, before, after, changed_at)
            SELECT $1, $2::bigint, p.external_id, 'updated',
                   intake_snapshot(p.old_email, p.old_name, p.old_phone, p.old_created_at, p.old_attributes,
                                   p.old_by, p.old_at, p.old_row)::json,
                   intake_snapshot(c.email, c.name, c.phone, c.created_at, c.custom_attributes)::json,
                   $3
            FROM intake_plan p JOIN customers c ON c.partner = $1 AND c.external_id = p.external_id
            WHERE p.status = 'updated'
            ORDER BY p.row
            """, parameters)
        try connection.stream("""
            SELECT r.row, r.external_id, r.rejection, p.row, p.status,
                   CASE WHEN r.rejection IS NOT NULL OR p.row <> r.row OR p.status IN ('not_found', 'already_exists') THEN r.cells END
            FROM intake_rows r LEFT JOIN intake_plan p ON r.rejection IS NULL AND p.external_id = r.external_id
            ORDER BY r.row
            """) { fields in
            let row = Int(fields[0] ?? "") ?? 0
            let externalID = fields[1] ?? ""
            let cells = fields[5].map(CellPacking.unpack) ?? []
            if let rejection = fields[2] {
                try each(DeferredVerdict(row: row, externalID: externalID, outcome: .rejected(message: rejection, cells: cells)))
                return
            }
            let first = Int(fields[3] ?? "") ?? row
            let result: UpsertResult
            if first != row {
                result = .repeated(firstRow: first)
            } else {
                switch fields[4] {
                case "created": result = .created
                case "updated": result = .updated
                case "unchanged": result = .unchanged
                case "skipped": result = .skipped
                case "already_exists": result = .alreadyExists
                default: result = .notFound
                }
            }
            try each(DeferredVerdict(row: row, externalID: externalID, outcome: .stored(result, cells: cells)))
        }
    }

    /// The first row of each external_id, with the stored customer's values and the row's status.
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
            SELECT f.row, f.external_id, f.email, f.name, f.phone, f.created_at, f.attributes,
                   c.email AS old_email, c.name AS old_name, c.phone AS old_phone, c.created_at AS old_created_at,
                   c.custom_attributes AS old_attributes, c.updated_by_import AS old_by, c.updated_at AS old_at,
                   c.import_row AS old_row,
                   \(status) AS status
            FROM (SELECT DISTINCT ON (external_id) * FROM intake_rows WHERE rejection IS NULL ORDER BY external_id, row) AS f
            LEFT JOIN customers c ON c.partner = $1 AND c.external_id = f.external_id
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
            var length = 0
            while index < bytes.count, bytes[index] != UInt8(ascii: ":") {
                length = length * 10 + Int(bytes[index] &- UInt8(ascii: "0"))
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
