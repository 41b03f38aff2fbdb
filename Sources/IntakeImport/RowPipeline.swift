import IntakeRead
import IntakeStore
import IntakeSystem
import IntakeValidate
import Synchronization

/// A row read and validated ahead of the store.
struct PreparedRow: Sendable {
    var row: SourceRow
    var outcome: Outcome
    /// The id as the file wrote it.
    var externalID: String

    enum Outcome: Sendable {
        case valid(CustomerUpdate)
        case invalid(RowRejection)
        /// The row's digest equals the one stored with customer `externalID` (stored form, of
        /// ``IDHash`` `idHash`): it was neither validated nor turned into values (see
        /// ``StoredDigests``).
        case sameAsStored(externalID: String, idHash: UInt64)

        /// An outcome that holds nothing to allocate, retain or free.
        static var nothing: Outcome { .sameAsStored(externalID: "", idHash: 0) }
    }

    /// Moves the outcome out, leaving one that holds nothing: switching over it then binds its
    /// payload without copying it (a copy retained, and later released, every string of the row
    /// on the thread that bounds the import). Put it back for the row to be freed elsewhere.
    mutating func takeOutcome() -> Outcome {
        var taken = Outcome.nothing
        swap(&taken, &outcome)
        return taken
    }

    /// What stands in a batch for a row handed out (``RowPipeline/next()``): nothing to allocate,
    /// retain or free.
    static var placeholder: PreparedRow {
        PreparedRow(row: SourceRow(number: 0, cells: []), outcome: .nothing, externalID: "")
    }
}

/// What lets the validating thread pass over rows sent again: their digests, and the stored ones.
struct RowMatching: @unchecked Sendable {
    // @unchecked: both are used by the validating thread only.
    let digester: RowDigester
    let stored: StoredDigests
    /// The partner's mode.
    let mode: ImportMode
    /// Whether the mode compares values at all (merge, replace, update-only); in the others the
    /// digests are only computed, to be stored with what the rows create.
    var matches: Bool { mode == .merge || mode == .replace || mode == .updateOnly }
}

/// Reads rows on one thread and validates them on another while the caller's thread writes
/// SQLite (and a fourth writes the result workbook; see ``ResultWriter``), so an import keeps both
/// cores busy whichever stage is the slow one: parsing dominates an XLSX file, the store a CSV.
///
/// Rows travel in batches through bounded channels, so memory stays flat whatever the file's
/// size: a batch closes at ``batchSize`` rows or ``batchBytes`` of text, whichever comes first, so
/// a few thousand short rows or a few long ones are in flight, never thousands of long ones. A
/// read error ends the stream and is rethrown to the consumer at the row where it happened.
final class RowPipeline: @unchecked Sendable {
    // @unchecked: `table` is touched only by the reading thread, `validator` only by the
    // validating one; the consumer's cursor (`current`, `position`, `finished`) only by the consumer.
    private let table: Table
    private let validator: RowValidator
    private let columns: ColumnMap
    private let matching: RowMatching?
    private let read: BoundedChannel<Batch<SourceRow>>
    private let validated: BoundedChannel<Batch<PreparedRow>>
    /// The batch being consumed and the next row's place in it. Rows are moved out and back
    /// (``next()``, ``putBack(_:)``), and the batch goes whole to ``spent`` once consumed: freeing
    /// a row's strings and arrays is about a tenth of the storing thread's work, and that thread
    /// bounds most imports.
    private var current: [PreparedRow] = []
    private var position = 0
    /// Consumed batches, freed on a thread of their own.
    private let spent = BoundedChannel<[PreparedRow]>(capacity: 2)
    private var finished = false
    /// Set by the validating thread at the first failed digest lookup, after which it stops
    /// looking up (see ``digestLookupFailure``).
    private var lookupsFailed = false
    private let lookupFailure = Mutex<SQLiteError?>(nil)

    enum Batch<Row: Sendable>: Sendable {
        case rows([Row])
        case failed(ReadError)
        case end
    }

    static let batchSize = 1024
    static let batchBytes = 1 << 20

    init(table: Table, validator: RowValidator, columns: ColumnMap, matching: RowMatching? = nil, depth: Int = 8) {
        self.table = table
        self.validator = validator
        self.columns = columns
        self.matching = matching
        read = BoundedChannel(capacity: depth)
        validated = BoundedChannel(capacity: depth)
        DetachedThread.start { [self] in readRows() }
        DetachedThread.start { [self] in validateRows() }
        // Each batch is freed as soon as it is received; the thread ends with `cancel()`.
        DetachedThread.start { [spent] in while spent.receive() != nil {} }
    }

    private func readRows() {
        var batch: [SourceRow] = []
        batch.reserveCapacity(Self.batchSize)
        var bytes = 0
        do {
            while let row = try table.nextRow() {
                // A cell costs its text and its 16-byte String, so a row of a million empty
                // fields counts too.
                for cell in row.cells { bytes += 16 + cell.utf8.count }
                batch.append(row)
                if batch.count == Self.batchSize || bytes >= Self.batchBytes {
                    guard read.send(.rows(batch)) else { return }
                    batch = []
                    batch.reserveCapacity(Self.batchSize)
                    bytes = 0
                }
            }
            if !batch.isEmpty { guard read.send(.rows(batch)) else { return } }
            read.send(.end)
        } catch {
            if !batch.isEmpty { guard read.send(.rows(batch)) else { return } }
            read.send(.failed(error))
        }
    }

    private func validateRows() {
        let idColumn = columns.required[.externalID]
        while let message = read.receive() {
            let forwarded: Batch<PreparedRow>
            switch message {
            case .rows(let rows):
                // Stored rows read ahead ride along within the same bound as the batch's text.
                var readAheadRoom = Self.batchBytes
                let prepared = rows.map { row in
                    let shownID = idColumn.flatMap { $0 < row.cells.count ? row.cells[$0] : nil } ?? ""
                    return PreparedRow(row: row, outcome: outcome(of: row, shownID: shownID, readAheadRoom: &readAheadRoom), externalID: shownID)
                }
                forwarded = .rows(prepared)
            case .failed(let error): forwarded = .failed(error)
            case .end: forwarded = .end
            }
            guard validated.send(forwarded) else {
                read.cancel() // the consumer gave up: stop the reader too
                return
            }
            if case .rows = forwarded { continue }
            return
        }
    }

    /// A row's outcome: the same as stored when its digest says so, else validated (with its
    /// digest, to be stored with what it writes, and what its customer held, read ahead while
    /// `readAheadRoom` bytes allow; past them the writer looks the customer up itself).
    private func outcome(of row: SourceRow, shownID: String, readAheadRoom: inout Int) -> PreparedRow.Outcome {
        var digest: Int64?
        var differs: (externalID: String, exists: Bool, idHash: UInt64)?
        if let matching, row.problem == nil, !row.isCutOff {
            let rowDigest = matching.digester.digest(row.cells)
            if matching.matches, !matching.stored.isEmpty, !lookupsFailed, let id = try? FieldRules.externalID(shownID) {
                let idHash = IDHash.of(id)
                do {
                    switch try matching.stored.lookUp(id, idHash: idHash, digest: rowDigest) {
                    case .sameDigest: return .sameAsStored(externalID: id, idHash: idHash)
                    case .differs(let exists): differs = (id, exists, idHash)
                    }
                } catch {
                    lookupFailed(error)
                }
            }
            digest = rowDigest
        }
        switch validator.validate(row) {
        case .success(let record):
            var update = CustomerUpdate(record)
            update.rowDigest = digest
            if let differs, String.sameBytes(differs.externalID, update.externalID) {
                update.idHash = differs.idHash
                update.readAhead = readAhead(of: update, exists: differs.exists, room: &readAheadRoom)
            }
            // The writer's repeat checks hash the id; here, off the storing thread.
            if matching != nil && update.idHash == nil { update.idHash = IDHash.of(update.externalID) }
            return .valid(update)
        case .failure(let rejection): return .invalid(rejection)
        }
    }

    /// What a valid row whose digest differs takes along for the writer: its customer's stored
    /// row and how the row compares with it while `room` allows (the row alone when only it
    /// fits), or that there is none; nil leaves the lookup to the writer.
    private func readAhead(of update: CustomerUpdate, exists: Bool, room: inout Int) -> StoredRow.ReadAhead? {
        guard exists else { return .absent }
        guard let matching, !lookupsFailed else { return nil }
        let stored: StoredRow
        do {
            guard let found = try matching.stored.storedRow(of: update.externalID), found.byteCount <= room else { return nil }
            stored = found
        } catch {
            lookupFailed(error)
            return nil
        }
        room -= stored.byteCount
        // A comparison that fails here (json_patch refusing the attributes) fails the same way
        // in the writer, which then says so for this row; the lookups go on.
        guard let comparison = try? matching.stored.compare(update, with: stored, mode: matching.mode),
              comparison.byteCount <= room else { return .found(stored) }
        room -= comparison.byteCount
        return .compared(stored, comparison)
    }

    /// Only speed depends on the lookups: this row and the rest go the full way (validated and
    /// compared, and looked up by the writer), and the importer logs why.
    private func lookupFailed(_ error: SQLiteError) {
        lookupsFailed = true
        lookupFailure.withLock { $0 = error }
    }

    /// Why the stored digests stopped being looked up part way, if they did: the rows from there
    /// on were validated and compared in full, so the verdicts are the same, only slower.
    var digestLookupFailure: SQLiteError? { lookupFailure.withLock { $0 } }

    /// The next prepared row, or nil at the end of the file.
    ///
    /// The row is moved out of its batch rather than copied, which would retain each of its
    /// strings and arrays on this thread (the one that bounds an import) and release them again
    /// when the caller is done. Hand it back with ``putBack(_:)`` before the next call, so that
    /// it is freed with its batch on the freeing thread; a row not handed back is freed by the
    /// caller, which costs only time.
    func next() throws(ReadError) -> PreparedRow? {
        while position == current.count {
            if !current.isEmpty {
                // Moved out and sent as the only reference, so the batch is freed on the spending
                // thread whatever the timing.
                var batch: [PreparedRow] = []
                swap(&batch, &current)
                spent.send(consume batch)
            }
            position = 0
            if finished { return nil }
            switch validated.receive() {
            case .rows(let rows)?:
                current = rows
            case .failed(let error)?:
                finished = true
                throw error
            case .end?, nil:
                finished = true
                return nil
            }
        }
        var row = PreparedRow.placeholder
        swap(&row, &current[position])
        position += 1
        return row
    }

    /// Puts the row the last ``next()`` handed out back in its place in the batch, leaving
    /// ``PreparedRow/placeholder`` in `row` (swapped, so nothing is copied); call it once per
    /// row handed out, before the next call to ``next()``.
    func putBack(_ row: inout PreparedRow) {
        precondition(position > 0 && position <= current.count, "putBack without a row from next()")
        swap(&row, &current[position - 1])
    }

    /// Stops the reading and validating threads (early, if the consumer gave up: they exit at
    /// their next batch) and the one that frees consumed batches. Call it once done, also after
    /// the last row.
    func cancel() {
        validated.cancel()
        read.cancel()
        spent.cancel()
    }
}
