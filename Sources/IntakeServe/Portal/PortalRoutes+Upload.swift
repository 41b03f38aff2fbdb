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

/// Sending a file from the browser, and the template to fill in.
extension PortalRoutes {
    // MARK: Upload

    func uploadPage(_ request: Request, _ session: PortalSession, message: String?, status: HTTPResponse.Status = .ok) throws -> Response {
        guard let partner = partner(of: session) else { return notFound(request, session) }
        let text = PortalLanguage.chosen(request).text
        let limit = min(imports.maxUploadBytes, settings(partner).maxBytes ?? .max)
        return html("upload", page(request, session, title: text["uploadTitle"]!, message: message,
                                   ["limitText": String(format: text["limit"]!, Self.bytes(limit))]), status: status)
    }

    static func bytes(_ n: Int64) -> String {
        if n >= 1 << 30 && n % (1 << 30) == 0 { return "\(n >> 30) GiB" }
        if n >= 1 << 20 { return "\(n >> 20) MiB" }
        if n >= 1 << 10 { return "\(n >> 10) KiB" }
        return "\(n) B"
    }

    func upload(_ request: Request, _ context: APIContext, _ session: PortalSession) async throws -> Response {
        guard let partner = partner(of: session) else { return notFound(request, session) }
        let text = PortalLanguage.chosen(request).text
        do {
            let record = try await imports.receive(request, from: .init(partner: partner, userEmail: session.user.email), check: false, checkInQuery: false,
                                                   beforeFile: { fields throws(APIError) in
                                                       guard checkCSRF(fields["csrf"], session) else { throw APIError(.forbidden, "csrf") }
                                                   }, logger: context.logger)
            return Self.redirect("/imports?received=" + Query.encode(record.inboxName) + "&upload=" + record.id)
        } catch let error as APIError where error.status == .forbidden {
            return problem(request, session, .forbidden, "csrf")
        } catch let error as APIError where error.status == .contentTooLarge {
            let limit = min(imports.maxUploadBytes, settings(partner).maxBytes ?? .max)
            return try uploadPage(request, session, message: String(format: text["tooLarge"]!, Self.bytes(limit)), status: .contentTooLarge)
        } catch let error as APIError {
            return try uploadPage(request, session, message: String(format: text["uploadFailed"]!, error.items.map(\.detail).joined(separator: "; ")), status: error.status)
        }
    }

    // MARK: Template

    /// The template's columns from the partner's settings: the required columns under the
    /// partner's own names where it has aliases, then its custom columns.
    func templateColumns(_ partner: String) -> [TemplateWorkbook.Column] {
        let aliases = settings(partner).columns
        func name(_ field: String) -> String { aliases.first { $0.value == field }?.key ?? field }
        var columns = [
            TemplateWorkbook.Column(header: name("external_id"), example: "C-1001", explanation: "Required. Your id for the customer, unique in the file; a second row with the same id is rejected. Up to 1024 characters."),
            TemplateWorkbook.Column(header: name("email"), example: "anna@example.com", explanation: "An email address, or empty."),
            TemplateWorkbook.Column(header: name("name"), example: "Anna Petrova", explanation: "The customer's name, or empty."),
            TemplateWorkbook.Column(header: name("phone"), example: "+79001234567", explanation: "A phone number with 5 to 15 digits (spaces, dashes, brackets and a leading + allowed), or empty."),
            TemplateWorkbook.Column(header: name("created_at"), example: "2018-01-01 00:11:22", explanation: "When the customer was created, as YYYY-MM-DD HH:MM:SS (2018-01-01 00:11:22), or empty."),
        ]
        let required: Set<String> = ["external_id", "email", "name", "phone", "created_at"]
        for (alias, key) in aliases.sorted(by: { $0.key < $1.key }) where !required.contains(key) {
            columns.append(.init(header: alias, example: "", explanation: "Custom attribute \(key): any text, stored as you send it."))
        }
        columns.append(.init(header: "city", example: "Moscow", explanation: "Any other column becomes a custom attribute of the customer under its header (here: city). Delete or rename it as you need."))
        return columns
    }

    func templatePage(_ request: Request, _ session: PortalSession) throws -> Response {
        guard let partner = partner(of: session) else { return notFound(request, session) }
        let columns = templateColumns(partner).map { ["header": $0.header, "explanation": $0.explanation] }
        return html("template", page(request, session, title: PortalLanguage.chosen(request).text["templateTitle"]!, ["columns": columns]))
    }

    func templateFile(_ request: Request, _ context: APIContext, _ session: PortalSession, xlsx: Bool) async throws -> Response {
        guard let partner = partner(of: session) else { return notFound(request, session) }
        let columns = templateColumns(partner)
        let body: ByteBuffer
        if xlsx {
            let path = root.state + "/tmp-template-\(UUID().uuidString).xlsx"
            defer { try? FileSystem.removeFile(path) }
            try await NIOThreadPool.singleton.runIfActive { try TemplateWorkbook.write(path: path, columns: columns) }
            body = ByteBuffer(bytes: try Data(contentsOf: URL(fileURLWithPath: path)))
        } else {
            func field(_ s: String) -> String {
                guard s.contains(where: { ",\"\n\r".contains($0) }) else { return s }
                return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
            }
            let header: String = columns.map { field($0.header) }.joined(separator: ",")
            let example: String = columns.map { field($0.example) }.joined(separator: ",")
            body = ByteBuffer(string: header + "\r\n" + example + "\r\n")
        }
        let name = "\(partner)-customers-template.\(xlsx ? "xlsx" : "csv")"
        return Response(status: .ok, headers: [
            .contentType: xlsx ? ImportRoutes.xlsxType : "text/csv; charset=utf-8",
            .contentDisposition: ImportRoutes.attachment(name),
        ], body: ResponseBody(byteBuffer: body))
    }
}
