import Foundation
import IntakeSystem

/// A finished child process: how it ended, what it printed, and its peak memory.
public struct ChildResult: Sendable {
    public var status: Int32
    public var signal: Int32?
    public var stdout: String
    public var stderr: String
    /// The child's own peak resident set size in bytes, as it reported it on stderr
    /// (`INTAKE_REPORT_PEAK_MEMORY`); 0 when it did not.
    ///
    /// `wait4`'s `ru_maxrss` cannot be used: posix_spawn shares the parent's address space until
    /// exec, and Linux carries that space's peak into the child's rusage, so a child of a large
    /// test process would look as large as the tests.
    public var peakRSS: Int {
        guard let line = stderr.split(separator: "\n").last(where: { $0.hasPrefix("intake: peak memory ") }),
              let value = line.split(separator: " ").dropFirst(3).first.flatMap({ Int($0) }) else { return 0 }
        return value
    }
}

/// ``runChild(_:_:environment:)`` on a thread of its own, for async tests: a child that runs for
/// many seconds (a browser walkthrough) must not hold one of the few cooperative threads, which
/// the in-process services of tests running alongside need.
public func runChildDetached(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) async throws -> ChildResult {
    try await withCheckedThrowingContinuation { continuation in
        DetachedThread.start { continuation.resume(with: Result { try runChild(executable, arguments, environment: environment) }) }
    }
}

/// Runs `executable` with `arguments` to completion, its output captured in files (so a chatty
/// child can never block on a full pipe), and reports its peak memory.
public func runChild(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> ChildResult {
    let scratch = NSTemporaryDirectory() + "/intake-child-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: scratch) }
    let pid = try spawnChild(executable, arguments, environment: environment, stdout: scratch + "/out", stderr: scratch + "/err")
    var status: Int32 = 0
    var usage = rusage()
    while wait4(pid, &status, 0, &usage) == -1 {
        guard errno == EINTR else { throw TestFailure("wait4 failed: \(errno)") }
    }
    let out = (try? String(contentsOfFile: scratch + "/out", encoding: .utf8)) ?? ""
    let err = (try? String(contentsOfFile: scratch + "/err", encoding: .utf8)) ?? ""
    let exited = status & 0x7F == 0
    return ChildResult(
        status: exited ? (status >> 8) & 0xFF : -1,
        signal: exited ? nil : status & 0x7F,
        stdout: out, stderr: err
    )
}

/// Starts a child with stdout and stderr sent to files; returns its pid. Its stdin is /dev/null,
/// or the descriptor `stdin` when given.
public func spawnChild(_ executable: String, _ arguments: [String], environment: [String: String] = [:], stdout: String, stderr: String,
                       stdin: Int32? = nil) throws -> pid_t {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    if let stdin { posix_spawn_file_actions_adddup2(&actions, stdin, 0) } else { posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0) }
    posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    var env = ProcessInfo.processInfo.environment
    env["INTAKE_REPORT_PEAK_MEMORY"] = "1"
    for (k, v) in environment { env[k] = v }
    let argv = ([executable] + arguments).map { strdup($0) } + [nil]
    let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer { argv.forEach { free($0) }; envp.forEach { free($0) } }
    // The child starts with no signal blocked and default handlers: a thread of the test process
    // may block signals (the service lifecycle library does, to read them from a queue), and a
    // child that inherited that mask and does not reset it (nginx in single-process mode) would
    // never see the SIGTERM that stops it.
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var none = sigset_t(), defaults = sigset_t()
    sigemptyset(&none)
    sigemptyset(&defaults)
    for signal in [SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGPIPE] { sigaddset(&defaults, signal) }
    posix_spawnattr_setsigmask(&attributes, &none)
    posix_spawnattr_setsigdefault(&attributes, &defaults)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
    guard rc == 0 else { throw TestFailure("posix_spawn \(executable) failed: \(rc)") }
    return pid
}
