#if canImport(Glibc)
import Glibc
#endif

/// A failed system call: the call, the path or object it was about, and `errno`, copied at once.
///
/// `errno` is thread-local and overwritten by the next failing call, so the value is captured
/// immediately by ``syscall(_:_:retryOnInterrupt:_:)`` rather than read later.
public struct SystemError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The `errno` value the call failed with.
    public var code: Int32
    /// The name of the failed call, e.g. `open`.
    public var operation: String
    /// The path or object the call was about, when there is one.
    public var subject: String?

    /// An error for a call that failed with `code`; normally made by ``syscall(_:_:retryOnInterrupt:_:)``.
    public init(code: Int32, operation: String, subject: String? = nil) {
        self.code = code
        self.operation = operation
        self.subject = subject
    }

    /// The C library's text for ``code``.
    public var message: String { String(cString: strerror(code)) }

    public var description: String {
        if let subject { return "\(operation) \(subject): \(message)" }
        return "\(operation): \(message)"
    }
}

/// Runs a system call that reports failure as `-1` and `errno`, retrying it while it fails with
/// `EINTR`, and turns any other failure into a ``SystemError``.
///
/// Every syscall in Intake goes through here (or its pointer-returning twin below), so a signal
/// arriving mid-call (SIGHUP, SIGCHLD from a test's child process) never surfaces as a spurious
/// error, and every failure names its call and subject.
@inlinable
public func syscall<Result: FixedWidthInteger>(
    _ operation: String,
    _ subject: @autoclosure () -> String? = nil,
    retryOnInterrupt: Bool = true,
    _ body: () -> Result
) throws(SystemError) -> Result {
    while true {
        let result = body()
        if result != -1 { return result }
        let code = errno
        if code == EINTR && retryOnInterrupt { continue }
        throw SystemError(code: code, operation: operation, subject: subject())
    }
}

/// The same for calls that report failure as a NULL handle and `errno` (`opendir`). Not generic
/// over the result, so that an integer-returning call can never resolve to it and lose its `-1`.
@inlinable
public func syscall(
    _ operation: String,
    _ subject: @autoclosure () -> String? = nil,
    _ body: () -> OpaquePointer?
) throws(SystemError) -> OpaquePointer {
    while true {
        if let result = body() { return result }
        let code = errno
        if code == EINTR { continue }
        throw SystemError(code: code, operation: operation, subject: subject())
    }
}
