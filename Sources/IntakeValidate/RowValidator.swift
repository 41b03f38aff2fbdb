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
        let parse = parseTimestamp
        func value(_ column: RequiredColumn) -> Result<String?, RowRejection> {
            Self.check(column, cells[index[column.position]], parseTimestamp: parse)
        }
        let externalID: String
        switch value(.externalID) {
        case .success(let id): externalID = id ?? ""
        case .failure(let rejection): return .failure(rejection)
        }
        var record = CustomerRecord(externalID: externalID)
        do {
            record.email = try value(.email).get()
            record.name = try value(.name).get()
            record.phone = try value(.phone).get()
            record.createdAt = try value(.createdAt).get()
        } catch {
            return .failure(error)
        }
        for (key, index) in columns.attributes where !cells[index].isEmpty {
            record.attributes.append((key, cells[index]))
        }
        return .success(record)
    }

    /// One required field's value as stored (nil when blank), or why it is refused, in the words
    /// of the result workbook. The one rule for files and the API.
    public static func check(_ column: RequiredColumn, _ raw: String,
                             parseTimestamp: @Sendable (String) throws(FieldError) -> String = TimestampParser.parse) -> Result<String?, RowRejection> {
        do throws(FieldError) {
            switch column {
            case .externalID:
                if raw.trimmed.isEmpty { return .failure(RowRejection(column: column.rawValue, message: "external_id is empty; every row needs one")) }
                return .success(try FieldRules.externalID(raw))
            case .name:
                let name = raw.trimmed
                return .success(name.isEmpty ? nil : name)
            case .email, .phone, .createdAt:
                if raw.trimmed.isEmpty { return .success(nil) }
                switch column {
                case .email: return .success(try FieldRules.email(raw))
                case .phone: return .success(try FieldRules.phone(raw))
                default: return .success(try parseTimestamp(raw))
                }
            }
        } catch {
            return .failure(RowRejection(column: column.rawValue, message: "\(column.rawValue) \(quote(raw)) \(error.reason)"))
        }
    }

    /// A value quoted for a message, shortened so a huge cell cannot flood the log.
    static func quote(_ raw: String) -> String {
        let limit = 80
        let shown = raw.count > limit ? String(raw.prefix(limit)) + "…" : raw
        return "\"" + shown + "\""
    }
}
