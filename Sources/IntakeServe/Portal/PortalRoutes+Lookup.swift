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

/// Looking things up: a customer with its history, and the operator view.
extension PortalRoutes {
    // MARK: Customers

    func customersPage(_ request: Request, _ session: PortalSession) async throws -> Response {
        guard let partner = partner(of: session) else { return notFound(request, session) }
        let text = PortalLanguage.chosen(request).text
        let query = Self.queryValue(request, "external_id") ?? ""
        var extra: [String: Any] = ["query": query, "searched": !query.isEmpty]
        if !query.isEmpty {
            let (customer, history) = try await reads.read { store in
                try store.snapshot { (try store.customer(partner: partner, externalID: query), try store.history(partner: partner, externalID: query)) }
            }
            if let customer {
                extra["customer"] = [
                    "externalID": customer.externalID, "email": customer.email ?? "", "name": customer.name ?? "", "phone": customer.phone ?? "",
                    "createdAt": customer.createdAt ?? "", "customAttributes": customer.customAttributes,
                    "history": history.reversed().map { entry -> [String: Any] in
                        var row: [String: Any] = ["importID": entry.importID, "fileName": entry.fileName, "action": entry.action.rawValue, "values": entry.values ?? ""]
                        if let time = Self.time(entry.at) { row["at"] = time }
                        return row
                    },
                ] as [String: Any]
            }
        }
        return html("customers", page(request, session, title: text["customers"]!, extra))
    }

    // MARK: Operator

    func operatorPage(_ request: Request, _ session: PortalSession) async throws -> Response {
        guard session.user.isAdmin else { return notFound(request, session) }
        let text = PortalLanguage.chosen(request).text
        let records = try await reads.read { store in try store.fileImports(partner: nil, before: nil, limit: 200) }
        func row(_ record: ImportRecord) -> [String: Any] {
            var row: [String: Any] = [
                "partner": record.partner, "fileName": record.fileName, "status": statusWord(record, text), "error": record.error ?? "",
                "created": record.created, "updated": record.updated, "unchanged": record.unchanged, "rejected": record.rejected,
            ]
            if let time = Self.time(record.startedAt) { row["received"] = time }
            return row
        }
        let uptime = Int(health?.uptimeSeconds ?? 0)
        let problems = records.filter { $0.status == .rejected }.prefix(50).map(row)
        return html("operator", page(request, session, title: text["operator"]!, [
            "version": IntakeVersion.string,
            "uptime": "\(uptime / 86_400)d \(uptime % 86_400 / 3600)h \(uptime % 3600 / 60)m",
            "backlog": root.inboxBacklog().sorted { $0.key < $1.key }.map { ["partner": $0.key, "count": $0.value] as [String: Any] },
            "problems": problems, "hasProblems": !problems.isEmpty,
            "recent": records.prefix(50).map(row),
        ]))
    }
}
