import Yams

/// A settings file that cannot be used, with the line at fault.
public struct SettingsError: Error, Sendable, CustomStringConvertible {
    public var line: Int?
    public var message: String

    /// An error at `line` of the settings file, or with nil when no one line is at fault (such as an
    /// unreadable file).
    public init(line: Int?, message: String) {
        self.line = line
        self.message = message
    }

    init(node: Node, _ message: String) {
        self.init(line: node.mark.map { $0.line }, message: message)
    }

    init(yaml error: YamlError) {
        var line: Int?
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): line = mark.line
        default: line = nil
        }
        self.init(line: line, message: "not valid YAML: \(error)")
    }

    public var description: String { line.map { "line \($0): \(message)" } ?? message }
}
