import ArgumentParser
import IntakeStore
import IntakeStorePostgres
import IntakeSystem

/// `intake show ID`.
struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show one import's details and counts.")

    @Argument(help: "The import id.")
    var id: Int64

    @OptionGroup var storage: StorageOptions

    func run() throws {
        guard let r = try storage.openImportStore().findImport(id) else {
            throw ValidationError("there is no import \(id)")
        }
        let lines: [(String, String?)] = [
            ("import", String(r.id)), ("partner", r.partner), ("file", r.fileName), ("status", r.status.rawValue),
            ("mode", r.mode), ("sha256", r.sha256), ("size", String(r.size)), ("format", r.format), ("encoding", r.encoding),
            ("delimiter", r.delimiter), ("sheet", r.sheet), ("started", r.startedAt), ("finished", r.finishedAt),
            ("rows read", String(r.rowsRead)), ("created", String(r.created)), ("updated", String(r.updated)),
            ("unchanged", String(r.unchanged)), ("skipped", String(r.skipped)), ("rejected", String(r.rejected)),
            ("error", r.error), ("result", r.resultPath), ("undone", r.undoneAt),
        ]
        for (label, value) in lines { if let value { print("\(label):\(String(repeating: " ", count: max(1, 11 - label.count)))\(value)") } }
    }
}

/// `intake undo ID`.
struct Undo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Take back what one import changed, in one transaction.",
        discussion: "Customers it created are removed; customers it changed get their earlier values back. Refused when a later import changed some of the same customers, unless --force, which undoes only the others and lists those skipped."
    )

    @Argument(help: "The import id.")
    var id: Int64

    @Flag(help: "Undo the customers no later import touched, and skip the rest.")
    var force = false

    @OptionGroup var storage: StorageOptions

    func run() throws {
        let history = try storage.openHistory()
        do {
            let report = try history.undo(id, force: force, now: SystemTime().utcNow())
            print("import \(id) undone: \(report.removed.count) removed, \(report.restored.count) restored, \(report.skipped.count) skipped")
            if !report.skipped.isEmpty { print("skipped (changed by a later import): \(report.skipped.joined(separator: ", "))") }
        } catch let refusal as ImportHistory.Refusal {
            print("undo refused: \(refusal.message)")
            throw ExitCode(1)
        }
    }
}

/// `intake history`.
struct History: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Every import that created, changed or undid one customer, with the values it set."
    )

    @Option(help: "The partner.")
    var partner: String

    @Option(help: "The customer's external_id.")
    var externalId: String

    @OptionGroup var storage: StorageOptions

    func run() throws {
        let entries = try storage.openHistory().history(partner: partner, externalID: externalId)
        if entries.isEmpty { print("no recorded changes for \(externalId) of \(partner) (history is kept for the undo retention time)") }
        for e in entries {
            // An API change names its source and token: `api 12  PUT /v4/consumers/42 (token crm)`.
            let source = e.tokenName.map { "api \(e.importID)\t\(e.fileName) (token \($0))" } ?? "import \(e.importID)\t\(e.fileName)"
            print("\(e.at)\t\(source)\t\(e.action.rawValue)\t\(e.values ?? (e.action == .undone ? "(removed)" : "(values no longer kept)"))")
        }
    }
}
