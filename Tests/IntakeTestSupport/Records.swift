import IntakeRead

/// Every record a reader yields, header included and blank records kept.
public func readAllRecords(_ reader: any RecordReader) throws -> [SourceRow] {
    var out: [SourceRow] = []
    while let record = try reader.nextRecord() { out.append(record) }
    return out
}

/// `prefix` and `n` in five digits ("C00042"): ids whose byte order, the customers table's, is
/// their numeric order.
public func fiveDigitID(_ prefix: String, _ n: Int) -> String {
    prefix + String(repeating: "0", count: max(0, 5 - String(n).count)) + String(n)
}
