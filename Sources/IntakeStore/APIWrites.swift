/// One customer written through the API, recorded like a file's change: an `imports` row of
/// source `api` (named after the request, with the token's name) that the customer's
/// `updated_by_import` points to. So history shows the API next to files, and undoing an
/// earlier file import sees the API's later change as a later import's and refuses without
/// `--force`. A write that changes nothing leaves no record.
public enum APIWrites {
    /// Why a write was refused by the partner's mode; its savepoint is rolled back.
    public enum Refusal: Error, Sendable, Equatable {
        /// The customer exists and the write may only create (POST, or a create-only partner).
        case alreadyExists
        /// The customer does not exist and the write may only update (an update-only partner).
        case notFound
    }

    /// What a write did, and the customer as stored afterwards.
    public struct Outcome: Sendable {
        public var result: UpsertResult
        public var customer: StoredCustomer
        /// The id of the change record; nil when nothing changed.
        public var changeID: Int64?

        public init(result: UpsertResult, customer: StoredCustomer, changeID: Int64?) {
            self.result = result
            self.customer = customer
            self.changeID = changeID
        }
    }

    /// Applies `update` for `principal` in `mode`, inside the caller's transaction.
    /// - Parameter request: how the change is named in history, e.g. `PUT /v4/consumers/42`.
    /// - Throws: ``Refusal`` when the mode forbids it; ``SQLiteError``.
    public static func apply(_ update: CustomerUpdate, mode: ImportMode, principal: APIPrincipal, request: String,
                             bytes: Int, now: String, in database: Database) throws -> Outcome {
        try database.cachedStatement("""
            INSERT INTO imports (partner, file_name, sha256, size, status, rows_read, started_at, finished_at, mode, source, token_name)
            VALUES (?1, ?2, '', ?3, 'completed', 1, ?4, ?4, ?5, 'api', ?6)
            """).run([.text(principal.partner), .text(request), .integer(Int64(bytes)), .text(now), .text(mode.rawValue), .text(principal.tokenName)])
        let changeID = database.lastInsertRowID
        let writer = try CustomerWriter(database: database, partner: principal.partner, importID: changeID, mode: mode, now: now, skipChecks: false)
        let result = try writer.apply(update, row: 1)
        switch result {
        case .alreadyExists: throw Refusal.alreadyExists
        case .notFound: throw Refusal.notFound
        case .created, .updated:
            let column = result == .created ? "rows_created" : "rows_updated"
            try database.cachedStatement("UPDATE imports SET \(column) = 1 WHERE id = ?1").run([.integer(changeID)])
        case .unchanged, .skipped, .repeated:
            try database.cachedStatement("DELETE FROM imports WHERE id = ?1").run([.integer(changeID)])
        }
        guard let stored = try CustomerStore(database: database, partner: principal.partner).find(update.externalID) else {
            throw SQLiteError(code: 2 /* SQLITE_INTERNAL */, message: "customer \(update.externalID) is missing right after its write")
        }
        return Outcome(result: result, customer: stored, changeID: result == .created || result == .updated ? changeID : nil)
    }
}
