import Dispatch
import IntakeRead
import IntakeStore
import IntakeSystem
import IntakeValidate
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

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
    // the queue is a Mutex and two semaphores.
    private let table: Table
    private let validator: RowValidator
    private let columns: ColumnMap
    private let queue = Mutex<[Batch]>([])
    private let filled = DispatchSemaphore(value: 0)
    private let free = DispatchSemaphore(value: 0)
    private let cancelled = Atomic<Bool>(false)
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
        // Both semaphores start at 0 and `free` is raised by hand: libdispatch traps when a
        // semaphore is freed below its initial value, which a cancelled pipeline would be.
        for _ in 0..<depth { free.signal() }
        DetachedThread.start { [self] in produce() }
    }

    private func produce() {
        let idColumn = columns.required[.externalID]
        var batch: [PreparedRow] = []
        batch.reserveCapacity(Self.batchSize)
        func send(_ item: Batch) -> Bool {
            free.wait()
            if cancelled.load(ordering: .relaxed) { return false }
            queue.withLock { $0.append(item) }
            filled.signal()
            return true
        }
        do {
            while let row = try table.nextRow() {
                let outcome = validator.validate(row).map(CustomerUpdate.init)
                let externalID = idColumn.flatMap { $0 < row.cells.count ? row.cells[$0] : nil } ?? ""
                batch.append(PreparedRow(row: row, outcome: outcome, externalID: externalID))
                if batch.count == Self.batchSize {
                    guard send(.rows(batch)) else { return }
                    batch = []
                    batch.reserveCapacity(Self.batchSize)
                }
            }
            if !batch.isEmpty { guard send(.rows(batch)) else { return } }
            _ = send(.end)
        } catch {
            if !batch.isEmpty { guard send(.rows(batch)) else { return } }
            _ = send(.failed(error))
        }
    }

    /// The next prepared row, or nil at the end of the file.
    func next() throws(ReadError) -> PreparedRow? {
        while position >= current.count {
            if finished { return nil }
            filled.wait()
            let batch = queue.withLock { $0.removeFirst() }
            free.signal()
            switch batch {
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
    func cancel() {
        cancelled.store(true, ordering: .relaxed)
        free.signal()
    }
}
