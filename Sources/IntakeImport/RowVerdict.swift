import IntakeReport
import IntakeStore

/// What a row's fate is called in the result workbook, derived in this one place from what the
/// store did with it.
struct RowVerdict {
    var status: RowStatus
    /// Why, for the partner; empty for the plain outcomes.
    var message: String

    /// The verdict on a row the store took (`result`) for the customer `externalID`.
    init(_ result: UpsertResult, externalID: String) {
        switch result {
        case .created: (status, message) = (.created, "")
        case .updated: (status, message) = (.updated, "")
        case .unchanged: (status, message) = (.unchanged, "")
        case .skipped: (status, message) = (.skipped, "exists; left unchanged (skip-existing)")
        case .alreadyExists: (status, message) = (.rejected, "already exists (create-only): external_id \(externalID)")
        case .notFound: (status, message) = (.rejected, "not found (update-only): no customer with external_id \(externalID)")
        case .repeated(let first): (status, message) = (.rejected, "duplicate external_id, first seen at row \(first)")
        }
    }

    /// A row that failed validation before it reached the store.
    init(rejected reason: String) {
        (status, message) = (.rejected, reason)
    }
}

extension ImportRecord {
    /// Counts one row with `status`.
    mutating func count(_ status: RowStatus) {
        switch status {
        case .created: created += 1
        case .updated: updated += 1
        case .unchanged: unchanged += 1
        case .skipped: skipped += 1
        case .rejected: rejected += 1
        }
    }

    /// The row counts by status, for the Summary sheet.
    var countsByStatus: [RowStatus: Int] {
        [.created: created, .updated: updated, .unchanged: unchanged, .skipped: skipped, .rejected: rejected]
    }
}
