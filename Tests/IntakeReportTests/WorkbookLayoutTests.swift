import Foundation
import IntakeRead
import IntakeReport
import IntakeTestSupport
import Testing

/// The result workbook as a person sees it on paper: LibreOffice prints it to PDF and poppler's
/// pdftotext reads the page back, so "the number is next to its label" is checked on the page,
/// not in the XML.
@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/libreoffice") && FileManager.default.isExecutableFile(atPath: "/usr/bin/pdftotext"),
                "needs libreoffice and poppler-utils (make test installs them)"))
struct WorkbookLayoutTests {
    @Test func eachSummaryLabelAndItsValueShareAPageAndALine() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/customers.import-7.result.xlsx"
            let header = ["external_id", "email", "name", "phone", "created_at", "loyalty_programme_membership_tier"]
            let workbook = try ResultWorkbook(path: path, sourceHeader: header)
            for n in 0..<60 {
                let status: RowStatus = n % 3 == 0 ? .rejected : .created
                let message = status == .rejected ? #"email "someone-at-example" is not an email address: it has no @"# : ""
                try workbook.addRow(number: n + 2, externalID: "CUSTOMER-\(n)", status: status, message: message)
                if status == .rejected {
                    try workbook.addRejected(cells: ["CUSTOMER-\(n)", "someone-at-example", "Name \(n)", "", "", "gold"], error: "row \(n + 2), column email: " + message)
                }
            }
            var summary = ImportSummary(sourceFile: "customers.csv", partner: "acme", receivedAt: "2026-11-30 10:00:00", finishedAt: "2026-11-30 10:00:09")
            summary.importID = 7
            summary.format = "csv"
            summary.encoding = "utf-8"
            summary.delimiter = ","
            summary.rowsRead = 1_234_567
            summary.counts = [.created: 1_000_000, .updated: 200_000, .unchanged: 34_547, .rejected: 20]
            try workbook.finish(summary)

            let profile = "file://" + dir + "/lo-profile"
            let convert = try runChild("/usr/bin/libreoffice", ["-env:UserInstallation=" + profile, "--headless", "--convert-to", "pdf", "--outdir", dir, path],
                                       environment: ["HOME": dir])
            let pdf = dir + "/customers.import-7.result.pdf"
            #expect(convert.status == 0 && FileManager.default.fileExists(atPath: pdf), "libreoffice: \(convert.stdout) \(convert.stderr)")
            let text = try runChild("/usr/bin/pdftotext", ["-layout", pdf, "-"]).stdout
            let pages = text.split(separator: "\u{0C}", omittingEmptySubsequences: false)
            let first = try #require(pages.first).split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ") }

            let facts = [
                ("Source file", "customers.csv"), ("Partner", "acme"), ("Import", "7"), ("Format", "csv"),
                ("Rows read", "1,234,567"), ("Created", "1,000,000"), ("Updated", "200,000"), ("Unchanged", "34,547"), ("Rejected", "20"),
            ]
            for (label, value) in facts {
                #expect(first.contains(label + " " + value), "\(label) and \(value) on one line of page 1:\n\(first.joined(separator: "\n"))")
            }
            #expect(first.contains { $0.hasPrefix("Result 1,000,000 created, 200,000 updated, 34,547 unchanged, 20 rejected") }, "the verdict leads the page")

            // Rows and Rejected print landscape, with the header repeated on each page.
            let info = try runChild("/usr/bin/pdfinfo", ["-f", "1", "-l", "20", pdf]).stdout
            let sizes = info.split(separator: "\n").filter { $0.hasPrefix("Page") && $0.contains("size:") }.map { line -> (Double, Double) in
                let numbers = line.split(separator: ":")[1].split(separator: " ").compactMap { Double($0) }
                return (numbers[0], numbers[1])
            }
            #expect(sizes.count >= 3, "\(info)")
            #expect(sizes.dropFirst().allSatisfy { $0.0 > $0.1 }, "pages after the Summary are landscape: \(sizes)")
            let headed = pages.dropFirst().filter { !$0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }
            #expect(headed.allSatisfy { $0.contains("external_id") }, "every table page starts with its header")
        }
    }
}
