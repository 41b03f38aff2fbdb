#if canImport(Glibc)
import Glibc
#endif

/// Starts plain POSIX threads for work that blocks (poll, SQLite, parsing), so it never holds one
/// of Swift concurrency's cooperative threads.
public enum DetachedThread {
    /// Runs `body` on a new detached pthread.
    public static func start(_ body: @escaping @Sendable () -> Void) {
        // A C thread entry cannot capture context: the closure travels as retained user data and
        // is released by the thread once it has it.
        final class Box {
            let body: @Sendable () -> Void
            init(_ body: @escaping @Sendable () -> Void) { self.body = body }
        }
        let context = Unmanaged.passRetained(Box(body)).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { raw in
            Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue().body()
            return nil
        }, context)
        precondition(rc == 0, "pthread_create failed: \(rc)")
        pthread_detach(thread)
    }
}
