import IntakeRead
import IntakeStore
import IntakeSystem
import IntakeValidate

/// A row read and validated ahead of the store.
struct PreparedRow: Sendable {
    var row: SourceRow
    var outcome: Result<CustomerUpdate, RowRejection>
    var externalID: String
}

/// Reads and validates rows on a second thread while the caller's thread writes SQLite and the
/// result workbook, so the two halves of an import use both cores.
///
/// Rows travel in batches through a bounded queue (a few thousand rows at most in flight), so
/// memory stays flat whatever the file's size; a read error ends the stream and is rethrown to
/// the consumer at the row where it happened.
final class RowPipeline: @unchecked Sendable {
    // @unchecked: `table` and `validator` are touched only by the producer thread after start;
    // the consumer's cursor (`current`, `position`, `finished`) only by the consumer.
    private let table: Table
    private let validator: RowValidator
    private let columns: ColumnMap
    private let channel: BoundedChannel<Batch>
    private var current: [PreparedRow] = []
    private var position = 0
    private var finished = false

    enum Batch: Sendable {
        case rows([PreparedRow])
        case failed(ReadError)
        case end
    }

    static let batchSize = 1024

    init(table: Table, validator: RowValidator, columns: ColumnMap, depth: Int = 8) {
        self.table = table
        self.validator = validator
        self.columns = columns
        channel = BoundedChannel(capacity: depth)
        DetachedThread.start { [self] in produce() }
    }

    private func produce() {
        let idColumn = columns.required[.externalID]
        var batch: [PreparedRow] = []
        batch.reserveCapacity(Self.batchSize)
        do {
            while let row = try table.nextRow() {
                let outcome = validator.validate(row).map(CustomerUpdate.init)
                let externalID = idColumn.flatMap { $0 < row.cells.count ? row.cells[$0] : nil } ?? ""
                batch.append(PreparedRow(row: row, outcome: outcome, externalID: externalID))
                if batch.count == Self.batchSize {
                    guard channel.send(.rows(batch)) else { return }
                    batch = []
                    batch.reserveCapacity(Self.batchSize)
                }
            }
            if !batch.isEmpty { guard channel.send(.rows(batch)) else { return } }
            channel.send(.end)
        } catch {
            if !batch.isEmpty { guard channel.send(.rows(batch)) else { return } }
            channel.send(.failed(error))
        }
    }

    /// The next prepared row, or nil at the end of the file.
    func next() throws(ReadError) -> PreparedRow? {
        while position >= current.count {
            if finished { return nil }
            switch channel.receive() {
            case .rows(let rows):
                current = rows
                position = 0
            case .failed(let error):
                finished = true
                throw error
            case .end:
                finished = true
                return nil
            }
        }
        defer { position += 1 }
        return current[position]
    }

    /// Stops the producer early (the consumer gave up); it exits at its next batch.
    func cancel() { channel.cancel() }
}
