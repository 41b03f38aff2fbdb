import IntakeStore
import IntakeSystem

/// The `imports` resources of JSON:API documents.
extension JSONAPI {
    /// An upload as an `imports` resource: its progress, and the import once it started.
    static func upload(_ upload: UploadRecord, _ progress: UploadProgress, into json: inout JSONWriter) {
        json.beginObject()
        json.member("type", "imports")
        json.member("id", upload.id)
        json.key("attributes")
        json.beginObject()
        json.member("status", progress.state.rawValue)
        json.member("file_name", upload.fileName)
        json.member("inbox_name", upload.inboxName)
        json.member("check", raw: upload.dryRun ? "true" : "false")
        json.member("size", number: upload.size)
        json.member("received_at", upload.receivedAt)
        json.member("import_id", number: progress.record?.id)
        json.member("error", progress.lastError ?? progress.record?.error)
        if let record = progress.record { counts(record, into: &json) }
        json.endObject()
        json.key("links")
        json.beginObject()
        json.member("self", "/v4/imports/" + upload.id)
        if let record = progress.record {
            json.member("import", "/v4/imports/\(record.id)")
            if record.resultPath != nil {
                json.member("result", "/v4/imports/\(upload.id)/result.xlsx")
            }
        }
        json.endObject()
        json.endObject()
    }

    /// A file import as an `imports` resource.
    static func importRecord(_ record: ImportRecord, into json: inout JSONWriter) {
        json.beginObject()
        json.member("type", "imports")
        json.member("id", String(record.id))
        json.key("attributes")
        json.beginObject()
        json.member("status", importState(record).rawValue)
        json.member("file_name", record.fileName)
        json.member("check", raw: record.status == .checked ? "true" : "false")
        json.member("size", number: record.size)
        json.member("started_at", record.startedAt)
        json.member("finished_at", record.finishedAt)
        json.member("error", record.error)
        counts(record, into: &json)
        json.endObject()
        json.key("links")
        json.beginObject()
        json.member("self", "/v4/imports/\(record.id)")
        if record.resultPath != nil {
            json.member("result", "/v4/imports/\(record.id)/result.xlsx")
        }
        json.endObject()
        json.endObject()
    }

    private static func counts(_ record: ImportRecord, into json: inout JSONWriter) {
        json.member("outcome", record.status.rawValue)
        json.key("rows")
        json.beginObject()
        for (key, value) in [("read", record.rowsRead), ("created", record.created), ("updated", record.updated),
                             ("unchanged", record.unchanged), ("skipped", record.skipped), ("rejected", record.rejected)] {
            json.key(key)
            json.number(Int64(value))
        }
        json.endObject()
    }

    /// What the client is told of an import's status.
    static func importState(_ record: ImportRecord) -> UploadProgress.State {
        switch record.status {
        case .running: .importing
        case .completed, .checked, .duplicate: .done
        case .rejected: .rejected
        }
    }
}
