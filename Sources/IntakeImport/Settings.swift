import IntakeRead
import IntakeStore
import IntakeSystem
import IntakeValidate
import Yams

/// The service's configuration: defaults and a section per partner, from one YAML file.
///
///     defaults:
///       mode: merge                  # merge | replace | skip-existing | create-only | update-only
///       settle_seconds: 5
///       undo_retention_days: 30
///       limits: { max_bytes: 104857600, max_rows: 2000000, max_seconds: 600, max_text_bytes: 1073741824 }
///     partners:
///       acme:
///         mode: replace
///         encoding: windows-1251     # CSV only; detection otherwise
///         delimiter: ";"             # CSV only; "tab" for a tab
///         columns:                   # the partner's header → a required column or attribute key
///           "ID клиента": external_id
///           "E-mail": email
///         created_at:
///           formats: ["DD.MM.YYYY HH:mm", "DD.MM.YYYY"]
///           time_zone: Europe/Moscow
///
/// A partner's section overrides the defaults key by key (`limits` and `created_at` too).
public struct Settings: Sendable {
    /// One partner's settings with the defaults already applied beneath them; the `defaults` section
    /// has the same shape.
    public struct Partner: Sendable {
        public var mode: ImportMode = .merge
        public var columns: [String: String] = [:]
        public var encoding: TextEncoding?
        public var delimiter: UInt8?
        public var createdAtFormats: [String] = []
        public var timeZone: String?
        public var maxBytes: Int64?
        public var maxRows: Int?
        public var maxSeconds: Double?
        /// Bytes of text a file's cells may expand to; nil for ``ReadLimits/maxTextBytes``.
        public var maxTextBytes: Int64?
        public var settleSeconds: Double?
        /// A marker file's name, `{name}` standing for the data file's (`"{name}.done"`): the data
        /// file is taken only once its marker exists; the marker is archived with it.
        public var doneMarker: DoneMarker?
        /// Take only files that arrived by a rename from a temporary name; a file written in place
        /// waits for its rename.
        public var temporaryNamesOnly = false
        public var undoRetentionDays = 30
        /// `result_rows`: `changes` (created, updated, skipped and rejected rows) or `all`.
        public var listUnchangedRows = false

        /// The built-in defaults: merge mode, no aliases or limits, encoding and delimiter
        /// detected, the service's settle time, and undo data kept for 30 days.
        public init() {}

        /// The import policy and read options these settings give.
        public func policy() throws(SettingsError) -> (ImportPolicy, ReadOptions) {
            var policy = ImportPolicy()
            policy.mode = mode
            policy.listUnchangedRows = listUnchangedRows
            policy.columnAliases = columns
            policy.maxBytes = maxBytes
            policy.maxRows = maxRows
            if let maxSeconds { policy.maxSeconds = maxSeconds }
            if !createdAtFormats.isEmpty || timeZone != nil {
                do { policy.timestamps = try TimestampRules(formats: createdAtFormats, timeZone: timeZone) } catch {
                    throw SettingsError(line: nil, message: "created_at \(error.reason)")
                }
            }
            var options = ReadOptions(encoding: encoding, delimiter: delimiter)
            if let maxTextBytes { options.limits.maxTextBytes = maxTextBytes }
            return (policy, options)
        }
    }

    public var http = HTTP()
    /// `database`: the store, when not the SQLite file under the data root: a PostgreSQL URL
    /// (`postgres://USER@HOST:PORT/DB`) or another SQLite file. `--db` overrides it.
    public var database: String?
    public var defaults = Partner()
    public var partners: [String: Partner] = [:]

    /// The built-in defaults and no partner sections, as when there is no settings file.
    public init() {}

    /// The settings for `partner`: its section over the defaults.
    public func forPartner(_ partner: String) -> Partner { partners[partner] ?? defaults }

    /// Reads and checks a settings file.
    /// - Throws: ``SettingsError`` with the line of the first problem.
    public static func load(path: String) throws(SettingsError) -> Settings {
        let text: String
        do {
            let file = try FileDescriptor(opening: path)
            var bytes: [UInt8] = []
            let chunk = ChunkBuffer(count: 65_536)
            while true {
                let n = try file.read(into: chunk.raw)
                if n == 0 { break }
                bytes += chunk.prefix(n)
            }
            text = String(decoding: bytes, as: UTF8.self)
        } catch {
            throw SettingsError(line: nil, message: "cannot read \(path): \(error)")
        }
        return try parse(text)
    }

    /// Parses and checks settings from YAML text; empty text gives the built-in defaults.
    /// - Throws: ``SettingsError`` with the line of the first problem: invalid YAML, an unknown key,
    ///   a value out of range or an invalid partner name.
    public static func parse(_ text: String) throws(SettingsError) -> Settings {
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: text) else { return Settings() }
            root = node
        } catch let error as YamlError {
            throw SettingsError(yaml: error)
        } catch {
            throw SettingsError(line: nil, message: "\(error)")
        }
        guard let top = root.mapping else { throw SettingsError(node: root, "the file must be a mapping with 'defaults' and 'partners'") }
        var settings = Settings()
        for (key, value) in top {
            switch key.string {
            case "defaults": settings.defaults = try partner(value, over: Partner())
            case "partners": break
            case "http": settings.http = try http(value)
            case "database":
                guard let text = value.string, !text.isEmpty else { throw SettingsError(node: value, "database must be a PostgreSQL URL or a SQLite file path") }
                settings.database = text
            default: throw SettingsError(node: key, "unknown top-level key '\(key.string ?? "?")' (use 'defaults', 'partners', 'http' and 'database')")
            }
        }
        if let partners = top["partners"] {
            guard let mapping = partners.mapping else { throw SettingsError(node: partners, "'partners' must map partner names to their settings") }
            for (key, value) in mapping {
                guard let name = key.string, PartnerName.isValid(name) else { throw SettingsError(node: key, "'\(key.string ?? "?")' is not a valid partner name") }
                settings.partners[name] = try partner(value, over: settings.defaults)
            }
        }
        return settings
    }

    private static func partner(_ node: Node, over base: Partner) throws(SettingsError) -> Partner {
        guard let mapping = node.mapping else { throw SettingsError(node: node, "expected a mapping of settings") }
        var p = base
        for (key, value) in mapping {
            let name = key.string ?? ""
            switch name {
            case "mode":
                guard let mode = value.string.flatMap(ImportMode.init(rawValue:)) else {
                    throw SettingsError(node: value, "mode must be one of: \(ImportMode.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                p.mode = mode
            case "columns":
                guard let aliases = value.mapping else { throw SettingsError(node: value, "columns must map header names to column names") }
                p.columns = [:]
                for (from, to) in aliases {
                    guard let f = from.string, let t = to.string, !t.isEmpty else { throw SettingsError(node: from, "each column alias needs a name and a target") }
                    p.columns[f] = t
                }
            case "encoding":
                guard let encoding = value.string.flatMap(TextEncoding.init(name:)) else {
                    throw SettingsError(node: value, "encoding must be one of: \(TextEncoding.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                p.encoding = encoding
            case "delimiter":
                guard let byte = Delimiter.parse(value.string ?? "") else {
                    throw SettingsError(node: value, "delimiter must be \(Delimiter.rule)")
                }
                p.delimiter = byte
            case "created_at":
                guard let fields = value.mapping else { throw SettingsError(node: value, "created_at needs 'formats' and/or 'time_zone'") }
                for (k, v) in fields {
                    switch k.string {
                    case "formats":
                        guard let list = v.sequence?.compactMap(\.string) else { throw SettingsError(node: v, "formats must be a list") }
                        p.createdAtFormats = list
                    case "time_zone": p.timeZone = v.string
                    default: throw SettingsError(node: k, "unknown created_at key '\(k.string ?? "?")'")
                    }
                }
                do { _ = try TimestampRules(formats: p.createdAtFormats, timeZone: p.timeZone) } catch {
                    throw SettingsError(node: value, "created_at \(error.reason)")
                }
            case "limits":
                guard let fields = value.mapping else { throw SettingsError(node: value, "limits needs max_bytes, max_rows, max_seconds or max_text_bytes") }
                for (k, v) in fields {
                    // Bounded so the conversions below cannot trap on `1e300` or `inf`.
                    guard let number = v.string.flatMap(Double.init), number > 0, number < 1e15 else {
                        throw SettingsError(node: v, "\(k.string ?? "limit") must be a positive number below 10^15")
                    }
                    switch k.string {
                    case "max_bytes": p.maxBytes = Int64(number)
                    case "max_rows": p.maxRows = Int(number)
                    case "max_seconds": p.maxSeconds = number
                    case "max_text_bytes": p.maxTextBytes = Int64(number)
                    default: throw SettingsError(node: k, "unknown limit '\(k.string ?? "?")'")
                    }
                }
            case "settle_seconds":
                guard let seconds = value.string.flatMap(Double.init), seconds >= 0, seconds <= 86_400 else {
                    throw SettingsError(node: value, "settle_seconds must be a number of seconds, at most 86400")
                }
                p.settleSeconds = seconds
            case "done_marker":
                guard let marker = value.string.flatMap(DoneMarker.init(template:)) else {
                    throw SettingsError(node: value, "done_marker must hold {name} once and more besides, not look like a temporary upload name, e.g. \"{name}.done\"")
                }
                p.doneMarker = marker
            case "temporary_names_only":
                guard let flag = value.bool else { throw SettingsError(node: value, "temporary_names_only must be true or false") }
                p.temporaryNamesOnly = flag
            case "result_rows":
                switch value.string {
                case "all": p.listUnchangedRows = true
                case "changes": p.listUnchangedRows = false
                default: throw SettingsError(node: value, "result_rows must be changes (created, updated, skipped and rejected rows; the default) or all")
                }
            case "undo_retention_days":
                guard let days = value.string.flatMap(Int.init), days >= 0 else { throw SettingsError(node: value, "undo_retention_days must be a whole number") }
                p.undoRetentionDays = days
            default:
                throw SettingsError(node: key, "unknown setting '\(name)'")
            }
        }
        return p
    }
}
