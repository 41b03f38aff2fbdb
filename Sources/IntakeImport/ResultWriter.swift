import Dispatch
import IntakeReport
import IntakeSystem
import Synchronization

/// Writes the result workbook on a thread of its own, so formatting and compressing a line per
/// row overlaps with the SQLite writes instead of adding to them (the third stage of an import:
/// read and validate → store → report).
///
/// Lines travel in batches through a bounded channel, so memory stays flat. A failure of the
/// workbook is kept and thrown by ``finish(_:)``; the lines after it are dropped.
final class ResultWriter: @unchecked Sendable {
    // @unchecked: after `init` the workbook is touched only by the writer thread; `pending` and
    // `closed` only by the importing thread; they meet through the channel and `done`.
    private var workbook: ResultWorkbook?
    private let channel = BoundedChannel<Message>(capacity: 8)
    private let done = DispatchSemaphore(value: 0)
    private let failure = Mutex<ReportError?>(nil)
    private var pending: [Line] = []
    private var pendingBytes = 0
    private var closed = false

    /// One line of the Rows sheet, and the row as sent for the Rejected sheet when it was rejected.
    struct Line: Sendable {
        var number: Int
        var externalID: String
        var status: RowStatus
        var message: String
        var rejectedCells: [String]?
    }

    private enum Message: Sendable {
        case lines([Line])
        case finish(ImportSummary)
        case abandon
    }

    private static let batchSize = 1024

    init(_ workbook: ResultWorkbook) {
        self.workbook = workbook
        pending.reserveCapacity(Self.batchSize)
        DetachedThread.start { [self] in drain() }
    }

    func add(_ line: Line) {
        pending.append(line)
        // Rejected rows carry their cells: a batch also closes at a mebibyte of them.
        if let cells = line.rejectedCells { for cell in cells { pendingBytes += 16 + cell.utf8.count } }
        pendingBytes += line.message.utf8.count
        if pending.count == Self.batchSize || pendingBytes >= 1 << 20 { flush() }
    }

    /// Writes the Summary and closes the workbook, which compresses and writes the file, and waits
    /// for it; `meanwhile` runs on the calling thread while the writer works (closing a
    /// million-row workbook takes seconds: the import's other work should not wait for it).
    func finish(_ summary: ImportSummary, meanwhile: () throws -> Void = {}) throws {
        precondition(!closed)
        flush()
        channel.send(.finish(summary))
        closed = true
        var concurrentError: (any Error)?
        do { try meanwhile() } catch { concurrentError = error }
        done.wait()
        if let concurrentError { throw concurrentError }
        if let error = failure.withLock({ $0 }) { throw error }
    }

    /// Stops the writer after a failed import and waits until it has let go of the file, so the
    /// caller can remove it. Does nothing after ``finish(_:)``.
    func abandon() {
        guard !closed else { return }
        closed = true
        channel.send(.abandon)
        done.wait()
    }

    private func flush() {
        guard !pending.isEmpty else { return }
        // Moved, not copied, so the batch is freed on the writer's thread, not the storing one.
        var lines: [Line] = []
        lines.reserveCapacity(Self.batchSize)
        swap(&lines, &pending)
        channel.send(.lines(consume lines))
        pendingBytes = 0
    }

    private func drain() {
        var error: ReportError?
        while true {
            // Never nil: this channel is not cancelled (an abandoned import sends `.abandon`).
            switch channel.receive()! {
            case .lines(let lines):
                guard error == nil, let workbook else { continue }
                do throws(ReportError) {
                    for line in lines {
                        try workbook.addRow(number: line.number, externalID: line.externalID, status: line.status, message: line.message)
                        if let cells = line.rejectedCells { try workbook.addRejected(cells: cells, error: line.message) }
                    }
                } catch let e {
                    error = e
                }
            case .finish(let summary):
                if error == nil, let workbook {
                    do throws(ReportError) { try workbook.finish(summary) } catch let e { error = e }
                }
                workbook = nil
                failure.withLock { $0 = error }
                done.signal()
                return
            case .abandon:
                workbook = nil // closing the handle before the caller removes the file
                done.signal()
                return
            }
        }
    }
}
