/// The delimiter a partner's settings or the command line name, parsed in this one place so the
/// two always agree.
public enum Delimiter {
    /// What ``parse(_:)`` accepts, for error messages.
    public static let rule = "one ASCII character other than a quote or a line break, or 'tab'"

    /// The byte `text` names: `tab` (any case) or `\t` for a tab, else a single ASCII character
    /// that is not a quote or a line break; nil for anything else.
    public static func parse(_ text: String) -> UInt8? {
        if text.lowercased() == "tab" || text == "\\t" { return 0x09 }
        guard text.utf8.count == 1, let byte = text.utf8.first, byte < 0x80,
              byte != UInt8(ascii: "\""), byte != 0x0A, byte != 0x0D else { return nil }
        return byte
    }
}
