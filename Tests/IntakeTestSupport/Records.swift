import IntakeRead

/// Every record a reader yields, header included and blank records kept.
public func readAllRecords(_ reader: any RecordReader) throws -> [SourceRow] {
    var out: [SourceRow] = []
    while let record = try reader.nextRecord() { out.append(record) }
    return out
}
