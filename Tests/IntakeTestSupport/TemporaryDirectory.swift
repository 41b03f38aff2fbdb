import Foundation
import IntakeSystem

/// Paths the tests need: the package root, the shared corpus beside the checkout, built binaries.
public enum TestPaths {
    /// The package root, found from this source file's location so `swift test` works from anywhere.
    public static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// The test venv's Python (openpyxl, paramiko, schemathesis), which `make test` makes.
    public static let python = packageRoot + "/.build-venv/bin/python"

    /// Whether the test venv has `module` (a test that needs it is skipped outside `make test`).
    public static func pythonHas(_ module: String) -> Bool {
        guard FileManager.default.isExecutableFile(atPath: python) else { return false }
        return (try? runChild(python, ["-c", "import \(module)"]).status) == 0
    }

    /// `../shared/corpus`, where CI places the shared test corpus beside the checkout.
    public static var corpus: String {
        if let override = ProcessInfo.processInfo.environment["INTAKE_CORPUS"] { return override }
        return URL(fileURLWithPath: packageRoot).deletingLastPathComponent().appendingPathComponent("shared/corpus").path
    }

    public static var fixtures: String { packageRoot + "/Fixtures" }

    /// The `intake` executable built beside the running test bundle.
    public static var intake: String {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var url = URL(fileURLWithPath: exe)
        // The test binary lives in <build>/debug/IntakePackageTests.xctest (a file on Linux).
        while url.path != "/" {
            url.deleteLastPathComponent()
            let candidate = url.appendingPathComponent("intake").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return packageRoot + "/.build/debug/intake"
    }
}

/// Creates a fresh directory, runs `body` with its path, and removes it whatever happens.
public func withTemporaryDirectory<T>(_ body: (String) async throws -> T) async rethrows -> T {
    let path = makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try await body(path)
}

/// Synchronous variant of ``withTemporaryDirectory(_:)``.
public func withTemporaryDirectory<T>(_ body: (String) throws -> T) rethrows -> T {
    let path = makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try body(path)
}

private func makeTemporaryDirectory() -> String {
    var template = Array((NSTemporaryDirectory() + "/intake-test-XXXXXX").utf8CString)
    let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    precondition(made != nil, "mkdtemp failed: \(errno)")
    return String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// Writes bytes or text to a file, creating parent folders.
/// Writes `bytes` to `path` (creating its folder) through a close-on-exec descriptor: Foundation's
/// own leaves its descriptor inheritable, and a child another test spawns at that moment would
/// hold the file open for writing, so the watcher's lease (rightly) would not be granted.
public func writeFile(_ path: String, _ bytes: [UInt8]) throws {
    try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    let file = try FileDescriptor(opening: path, flags: O_WRONLY | O_CREAT | O_TRUNC)
    try file.writeAll(bytes)
}

public func writeFile(_ path: String, _ text: String) throws {
    try writeFile(path, Array(text.utf8))
}
