import IntakeRead

/// A validated row, ready to store. `nil` means "not given": the import mode decides what that
/// does to a stored value (`merge` keeps it, `replace` clears it).
public struct CustomerRecord: Sendable, Equatable {
    public var externalID: String
    public var email: String?
    public var name: String?
    public var phone: String?
    public var createdAt: String?
    /// Non-empty custom attributes in header order.
    public var attributes: [(key: String, value: String)]

    /// A record for `externalID`; nil fields and no attributes mean the row gave none.
    public init(externalID: String, email: String? = nil, name: String? = nil, phone: String? = nil, createdAt: String? = nil, attributes: [(key: String, value: String)] = []) {
        self.externalID = externalID
        self.email = email
        self.name = name
        self.phone = phone
        self.createdAt = createdAt
        self.attributes = attributes
    }

    /// Field-by-field equality, written out because the tuples in `attributes` keep it from being
    /// synthesized.
    public static func == (a: CustomerRecord, b: CustomerRecord) -> Bool {
        a.externalID == b.externalID && a.email == b.email && a.name == b.name && a.phone == b.phone
            && a.createdAt == b.createdAt && a.attributes.elementsEqual(b.attributes, by: { $0 == $1 })
    }
}

/// Why one row is rejected: the column (when one is to blame) and a message naming the value.
public struct RowRejection: Error, Sendable, Equatable, CustomStringConvertible {
    public var column: String?
    public var message: String
    public var description: String { message }

    /// A rejection blamed on `column`, or on the whole row when it is nil.
    public init(column: String?, message: String) {
        self.column = column
        self.message = message
    }
}

/// Checks one data row against the rules for each required column.
public struct RowValidator: Sendable {
    public let columns: ColumnMap
    /// Parses `created_at`; per-partner formats and time zones plug in here.
    public var parseTimestamp: @Sendable (String) throws(FieldError) -> String

    /// Each required column's index, looked up once instead of per row and cell.
    private let index: [Int]

    /// A validator for rows laid out as `columns`; `parseTimestamp` reads `created_at` (by default
    /// ``TimestampParser/parse(_:)``, for partners without their own formats).
    public init(columns: ColumnMap, parseTimestamp: @escaping @Sendable (String) throws(FieldError) -> String = TimestampParser.parse) {
        self.columns = columns
        self.parseTimestamp = parseTimestamp
        index = RequiredColumn.allCases.map { columns.required[$0]! }
    }

    /// The record to store, or the reason the row is rejected.
    public func validate(_ row: SourceRow) -> Result<CustomerRecord, RowRejection> {
        if let problem = row.problem { return .failure(RowRejection(column: nil, message: "row \(problem)")) }
        let cells = row.cells
        func cell(_ column: RequiredColumn) -> String { cells[index[column.position]] }
        func reject(_ column: RequiredColumn, _ raw: String, _ error: FieldError) -> Result<CustomerRecord, RowRejection> {
            .failure(RowRejection(column: column.rawValue, message: "\(column.rawValue) \(Self.quote(raw)) \(error.reason)"))
        }

        let externalID: String
        do { externalID = try FieldRules.externalID(cell(.externalID)) } catch {
            let raw = cell(.externalID)
            if raw.trimmed.isEmpty { return .failure(RowRejection(column: RequiredColumn.externalID.rawValue, message: "external_id is empty; every row needs one")) }
            return reject(.externalID, raw, error)
        }
        var record = CustomerRecord(externalID: externalID)

        let email = cell(.email)
        if !email.trimmed.isEmpty {
            do { record.email = try FieldRules.email(email) } catch { return reject(.email, email, error) }
        }
        let name = cell(.name).trimmed
        if !name.isEmpty { record.name = name }
        let phone = cell(.phone)
        if !phone.trimmed.isEmpty {
            do { record.phone = try FieldRules.phone(phone) } catch { return reject(.phone, phone, error) }
        }
        let createdAt = cell(.createdAt)
        if !createdAt.trimmed.isEmpty {
            do { record.createdAt = try parseTimestamp(createdAt) } catch { return reject(.createdAt, createdAt, error) }
        }
        for (key, index) in columns.attributes where !cells[index].isEmpty {
            record.attributes.append((key, cells[index]))
        }
        return .success(record)
    }

    /// A value quoted for a message, shortened so a huge cell cannot flood the log.
    static func quote(_ raw: String) -> String {
        let limit = 80
        let shown = raw.count > limit ? String(raw.prefix(limit)) + "…" : raw
        return "\"" + shown + "\""
    }
}
