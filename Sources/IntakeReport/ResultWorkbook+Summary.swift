import CXLSXWriter

/// The Summary sheet, for a person: the verdict on the first line, then the facts, two columns
/// with each number next to its label, columns as wide as their text, one page wide when printed.
extension ResultWorkbook {
    func writeSummary(_ summary: ImportSummary) throws(ReportError) {
        let sheet = summarySheet
        var facts: [(label: String, value: String?, count: Int?, status: RowStatus?)] = []
        func text(_ label: String, _ value: String?) { if let value { facts.append((label, value, nil, nil)) } }
        func tally(_ label: String, _ value: Int, _ status: RowStatus? = nil) { facts.append((label, nil, value, status)) }
        text("Error", summary.fileError)
        text("Note", summary.note)
        text("Source file", summary.sourceFile)
        text("Partner", summary.partner)
        text("Import", summary.importID.map(String.init))
        text("Received", summary.receivedAt + " UTC")
        text("Finished", summary.finishedAt + " UTC")
        text("Format", summary.format)
        text("Encoding", summary.encoding)
        text("Delimiter", summary.delimiter.map { $0 == "\t" ? "tab" : $0 })
        text("Sheet read", summary.sheet)
        tally("Rows read", summary.rowsRead)
        tally("Created", summary.counts[.created] ?? 0, .created)
        tally("Updated", summary.counts[.updated] ?? 0, .updated)
        tally("Unchanged", summary.counts[.unchanged] ?? 0, .unchanged)
        if let skipped = summary.counts[.skipped], skipped > 0 { tally("Skipped", skipped, .skipped) }
        tally("Rejected", summary.counts[.rejected] ?? 0, .rejected)

        // The verdict is the table's first line, so the sheet stays a plain label → value table
        // (for a person, a filter, or a reader that takes the first row's width as the table's).
        let verdict = Self.verdict(summary)
        var widths = ColumnWidths(headers: ["Result", ""])
        widths.fit(1, verdict)
        for fact in facts {
            widths.fit(0, fact.label)
            if let value = fact.value { widths.fit(1, value) } else if let n = fact.count { widths.fit(1, digits: n) }
        }
        let valueWidth = widths.apply(to: sheet, maximum: 80)[1]
        // Spreadsheets do not grow a row for wrapped text written by a program, so a long value
        // gets the height of its lines; otherwise it would run over the facts below it.
        func heightFor(_ text: String, line: UInt32) {
            let lines = (text.unicodeScalars.count + valueWidth - 1) / valueWidth
            if lines > 1 { worksheet_set_row(sheet, line, Double(lines) * 15 + 2, nil) }
        }
        heightFor(verdict, line: 0)
        try write(sheet, 0, 0, "Result", title)
        try write(sheet, 0, 1, verdict, title)
        for (index, fact) in facts.enumerated() {
            let line = UInt32(index + 1)
            if let value = fact.value { heightFor(value, line: line) }
            try write(sheet, line, 0, fact.label, bold)
            if let value = fact.value {
                try write(sheet, line, 1, value, wrap)
            } else if let n = fact.count {
                try number(sheet, line, 1, Double(n), fact.status.flatMap { n > 0 ? statusCounts[$0] : nil } ?? count)
            }
        }
        worksheet_fit_to_pages(sheet, 1, 0)
        worksheet_activate(sheet)
    }

    /// The Summary's first line: what happened and what to do next, in one sentence.
    static func verdict(_ summary: ImportSummary) -> String {
        if summary.fileError != nil { return "Rejected, nothing was imported: fix the file as the Error line says and send it again" }
        let parts = RowStatus.allCases.compactMap { status -> String? in
            let n = summary.counts[status] ?? 0
            return n > 0 ? "\(grouped(n)) \(status.rawValue)" : nil
        }
        var counts = parts.isEmpty ? "No rows" : parts.joined(separator: ", ")
        if summary.checkOnly { counts = "Check only, nothing was changed; it would give " + counts }
        if (summary.counts[.rejected] ?? 0) > 0 {
            return counts + ": fix the rows on the Rejected sheet and send this workbook back"
        }
        return counts + ": every row was taken"
    }

    /// `1234567` → `1,234,567`.
    public static func grouped(_ n: Int) -> String {
        let digits = Array(String(n))
        var out = ""
        for (i, d) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(d)
        }
        return out
    }
}
