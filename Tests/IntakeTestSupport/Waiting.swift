import Foundation
import IntakeSystem

/// Polls `condition` until it holds or `timeout` passes; never a fixed sleep. Returns whether it held.
@discardableResult
public func waitUntil(timeout: Double = 60, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return true }
        usleep(2_000)
    }
    return try condition()
}

/// The size of a file, or 0 when it does not exist.
public func fileSize(_ path: String) -> Int {
    var st = stat()
    return stat(path, &st) == 0 ? Int(st.st_size) : 0
}

/// Sends `signal` to child `pid` and waits for it to end; returns its wait status.
@discardableResult
public func stopChild(_ pid: pid_t, _ signal: Int32 = SIGTERM) -> Int32 {
    kill(pid, signal)
    var status: Int32 = 0
    waitpid(pid, &status, 0)
    return status
}

/// Whether child `pid` has exited (reaping it), with its raw wait status.
public func reapIfExited(_ pid: pid_t) -> Int32? {
    var status: Int32 = 0
    let rc = waitpid(pid, &status, WNOHANG)
    return rc == pid ? status : nil
}

/// The same for async tests: polls `condition` without blocking a thread of the cooperative pool
/// (which the service under test needs).
///
/// The default bound is generous on purpose: what runs on the test process's cooperative threads
/// (one per core; an in-process service, this polling) waits while the synchronous tests of other
/// suites (child processes, sshd, imports) hold them, for minutes in a full parallel run on
/// 2 cores. These waits test that something happens, not how soon.
@discardableResult
public func eventually(timeout: Double = 300, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(2))
    }
    return try await condition()
}

/// Runs `body` on a thread of its own and awaits it: for a test that blocks for a long time
/// (child processes, polling), so that it does not hold one of the few cooperative threads that
/// the in-process services of async tests running alongside need.
///
/// The body stays part of the test's task (a task executor that runs each job on a new thread),
/// so an `#expect` inside it is recorded against the test that ran it.
public func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withTaskExecutorPreference(OwnThreadExecutor()) { try body() }
}

/// Runs each job it is given on a thread of its own.
private final class OwnThreadExecutor: TaskExecutor {
    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        DetachedThread.start { job.runSynchronously(on: executor) }
    }
}
