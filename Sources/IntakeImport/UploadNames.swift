/// Which inbox names are finished uploads Intake may take.
///
/// Uploaders write under a temporary name and rename when done: WinSCP `*.filepart`, rclone
/// `.name.XXXX.partial` and other dot-files, lftp `.in.name`, generic `*.tmp` and `*.part`;
/// Excel's lock files are `~$name`. Those are never touched until they get their final name.
public enum UploadNames {
    /// Whether `name` is a temporary upload name, a lock file or a dot-file (the patterns above, in any
    /// letter case): such names are never claimed.
    public static func isTemporary(_ name: String) -> Bool {
        let lower = name.lowercased()
        return name.hasPrefix(".") || name.hasPrefix("~$")
            || lower.hasSuffix(".filepart") || lower.hasSuffix(".partial") || lower.hasSuffix(".tmp") || lower.hasSuffix(".part")
            || lower.hasSuffix(".crdownload") || lower.hasSuffix(".swp")
    }

    /// The formats Intake imports, by extension in any letter case.
    public static func isImportable(_ name: String) -> Bool {
        let lower = name.lowercased()
        return lower.hasSuffix(".csv") || lower.hasSuffix(".xlsx")
    }
}
