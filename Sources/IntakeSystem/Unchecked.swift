/// Carries a non-Sendable value to the one thread that will use it: a ``FileProcessor`` to its
/// worker, a connection to its committer thread.
///
/// `@unchecked Sendable` is the caller's promise that the value is used by one thread at a time,
/// handed over once; each use site says which thread that is.
public struct Unchecked<Value>: @unchecked Sendable {
    public let value: Value
    public init(_ value: Value) { self.value = value }
}
