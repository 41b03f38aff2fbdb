import Foundation
import HTTPTypes
import Hummingbird
import IntakeImport
import IntakeRead
import IntakeReport
import IntakeStore
import IntakeSystem
import IntakeWatch
import Logging
import NIOPosix

/// The imports pages: the list with live progress, one import, its downloads, and running a
/// check for real.
extension PortalRoutes {
    // MARK: Imports

    static func time(_ utc: String?) -> [String: String]? {
        guard let utc, utc.count == 19 else { return nil }
        return ["iso": utc.replacingOccurrences(of: " ", with: "T") + "Z", "text": utc]
    }

    func statusWord(_ record: ImportRecord, _ text: [String: String]) -> String {
        switch record.status {
        case .completed: text["completed"]!
        case .checked: text["checked"]!
        case .duplicate: text["duplicate"]!
        case .rejected: text["statusRejected"]!
        case .running: text["statusRunning"]!
        }
    }

    func importsPage(_ request: Request, _ session: PortalSession) async throws -> Response {
        guard let partner = partner(of: session) else { return Self.redirect("/operator") }
        let text = PortalLanguage.chosen(request).text
        let (records, channels) = try await reads.read { store in
            let records = try store.fileImports(partner: partner, before: nil, limit: 100)
            return (records, try store.channels(partner: partner, importIDs: records.map(\.id)))
        }
        let rows: [[String: Any]] = records.map { record in
            var row: [String: Any] = [
                "id": record.id, "fileName": record.fileName, "status": statusWord(record, text),
                "statusClass": record.status == .rejected ? "rejected-file" : record.status.rawValue,
                "created": record.created, "updated": record.updated, "unchanged": record.unchanged, "rejected": record.rejected,
                "via": text[channels[record.id] ?? "sftp"] ?? "",
            ]
            if let time = Self.time(record.startedAt) { row["received"] = time }
            return row
        }
        let running = LiveProgress.shared.running(partner: partner).map { ["journalEntry": $0.journalEntry, "fileName": $0.fileName, "rows": $0.rows] as [String: Any] }
        let backlog = root.inboxBacklog()[partner] ?? 0
        var message: String?
        if let received = Self.queryValue(request, "received") { message = String(format: text["uploaded"]!, received) }
        // After an upload the page follows it: until its import has finished, the page's script
        // reloads it (without the script, the Refresh link does the same).
        var pending = false
        if let id = request.uri.queryParameters["upload"].map(String.init) {
            let state = try await reads.read { store -> UploadProgress.State? in
                try store.upload(partner: partner, id: id).map { try store.progress(of: $0).state }
            }
            pending = state == .waiting || state == .importing
        }
        return html("imports", page(request, session, title: text["imports"]!, message: message,
                                    ["imports": rows, "hasImports": !rows.isEmpty, "running": running, "hasRunning": !running.isEmpty,
                                     "backlog": backlog, "pending": pending]))
    }

    func progress(_ session: PortalSession) -> Response {
        let partner = partner(of: session)
        var json = JSONWriter()
        json.beginObject()
        json.key("running")
        json.beginArray()
        for running in LiveProgress.shared.running(partner: partner) {
            json.beginObject()
            json.member("journal_entry", number: running.journalEntry)
            json.member("file_name", running.fileName)
            json.member("rows", number: Int64(running.rows))
            json.endObject()
        }
        json.endArray()
        let waiting = partner.map { root.inboxBacklog()[$0] ?? 0 } ?? 0
        json.member("waiting", number: Int64(waiting))
        json.endObject()
        return Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: json.bytes)))
    }

    /// The partner's import `id` (a file import, not an API write), or nil: another partner's
    /// import is not found, exactly like one that does not exist.
    func record(_ context: APIContext, _ session: PortalSession) async throws -> ImportRecord? {
        guard let partner = partner(of: session), let id = context.parameters.get("id").flatMap(Int64.init) else { return nil }
        return try await reads.read { store in try store.fileImport(partner: partner, id: id) }
    }

    func detailPage(_ request: Request, _ context: APIContext, _ session: PortalSession) async throws -> Response {
        guard let record = try await record(context, session) else { return notFound(request, session) }
        let text = PortalLanguage.chosen(request).text
        let original = try await reads.read { store in try store.archivedFile(partner: record.partner, importID: record.id) }
        var facts: [String: Any] = [
            "id": record.id, "fileName": record.fileName, "status": statusWord(record, text), "dryRun": record.status == .checked,
            "mode": record.mode ?? "", "rowsRead": record.rowsRead, "created": record.created, "updated": record.updated,
            "unchanged": record.unchanged, "skipped": record.skipped, "rejected": record.rejected,
        ]
        if let error = record.error { facts["error"] = error }
        if let time = Self.time(record.startedAt) { facts["received"] = time }
        let resultPath = record.resultPath.flatMap { FileSystem.exists($0) ? $0 : nil }
        // Reading the workbook blocks (and may scan a long Rows sheet): off the cooperative threads.
        let rejectedRows = record.rejected > 0 && resultPath != nil
            ? try await NIOThreadPool.singleton.runIfActive { Self.firstRejectedRows(resultPath!) } : []
        return html("detail", page(request, session, title: record.fileName, [
            "record": facts, "hasResult": resultPath != nil, "hasOriginal": original.map(FileSystem.exists) ?? false,
            "canRun": record.status == .checked && (original.map(FileSystem.exists) ?? false),
            "rejectedRows": rejectedRows, "hasRejectedRows": !rejectedRows.isEmpty,
        ]))
    }

    /// The first rejected lines of a result workbook's Rows sheet, read with Intake's own reader.
    static func firstRejectedRows(_ path: String) -> [[String: String]] {
        var options = ReadOptions()
        options.sheet = "Rows"
        guard let table = try? Spreadsheet.open(path, options: options) else { return [] }
        var rows: [[String: String]] = []
        while rows.count < rejectedRowsShown, let row = try? table.nextRow() {
            guard row.cells.count >= 4, row.cells[2] == "rejected" else { continue }
            rows.append(["row": row.cells[0], "externalID": row.cells[1], "reason": row.cells[3]])
        }
        return rows
    }

    func download(_ request: Request, _ context: APIContext, _ session: PortalSession, original: Bool) async throws -> Response {
        guard let record = try await record(context, session) else { return notFound(request, session) }
        let path = original
            ? try await reads.read { store in try store.archivedFile(partner: record.partner, importID: record.id) }
            : record.resultPath
        guard let path, FileSystem.exists(path) else { return notFound(request, session) }
        // The archived copy is named `<import>-<processing name>`; the partner gets their own name.
        let name = original ? record.fileName : FileSystem.baseName(of: path)
        let lowered = name.lowercased()
        let type = lowered.hasSuffix(".xlsx") ? ImportRoutes.xlsxType : lowered.hasSuffix(".csv") ? "text/csv" : "application/octet-stream"
        return Response(status: .ok, headers: [
            .contentType: type,
            .contentDisposition: ImportRoutes.attachment(name),
        ], body: try await FileIO().loadFile(path: path, context: context))
    }

    /// A dry run's file, imported for real: its archived copy goes into the inbox like an upload.
    func runForReal(_ request: Request, _ context: APIContext, _ session: PortalSession) async throws -> Response {
        guard checkCSRF(try await form(request)["csrf"], session) else { return problem(request, session, .forbidden, "csrf") }
        guard let record = try await record(context, session), record.status == .checked,
              let path = try await reads.read({ store in try store.archivedFile(partner: record.partner, importID: record.id) }),
              FileSystem.exists(path) else { return notFound(request, session) }
        // Copying a file of up to the upload limit blocks: off the cooperative threads.
        let upload = try await NIOThreadPool.singleton.runIfActive { [root] in
            let upload = try InboxUpload(root: root, partner: record.partner, check: false)
            let source = try FileDescriptor(opening: path)
            let chunk = ChunkBuffer(count: 1 << 20)
            while true {
                let n = try source.read(into: chunk.raw)
                if n == 0 { break }
                try upload.write(UnsafeRawBufferPointer(rebasing: chunk.raw[0..<n]))
            }
            return upload
        }
        let entry = UploadRecord(id: ImportRoutes.newID(), partner: record.partner, fileName: record.fileName,
                                 inboxName: record.fileName, dryRun: false, size: upload.size, inode: try upload.inode, tokenName: nil,
                                 userEmail: session.user.email, receivedAt: clock.utcNow())
        let name = try await imports.recordAndDeliver(upload, entry).inboxName
        context.logger.info("dry run sent for real from the portal", metadata: ["import": "\(record.id)", "file": "\(name)", "user": "\(session.user.email)"])
        return Self.redirect("/imports?received=" + Query.encode(name) + "&upload=" + entry.id)
    }
}
