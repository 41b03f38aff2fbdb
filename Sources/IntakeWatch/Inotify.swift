import CIntakeLinux
import IntakeSystem
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One inotify event, with the name that `inotify_event` carries after its fixed header.
public struct InotifyEvent: Sendable, Equatable {
    public var watch: Int32
    public var mask: UInt32
    public var name: String

    public var isOverflow: Bool { mask & UInt32(IN_Q_OVERFLOW) != 0 }
    public var isDirectory: Bool { mask & UInt32(IN_ISDIR) != 0 }

    /// Walks a buffer filled by `read` on an inotify descriptor: each event is a 16-byte header
    /// (`wd`, `mask`, `cookie`, `len`) followed by `len` bytes of NUL-padded name. Swift imports
    /// `inotify_event` without its flexible `name` member, so the walk is by hand.
    static func parse(_ buffer: UnsafeRawBufferPointer) -> [InotifyEvent] {
        var events: [InotifyEvent] = []
        var offset = 0
        let header = MemoryLayout<inotify_event>.size
        while offset + header <= buffer.count {
            let wd = buffer.loadUnaligned(fromByteOffset: offset, as: Int32.self)
            let mask = buffer.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)
            let length = Int(buffer.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self))
            guard offset + header + length <= buffer.count else { break }
            let nameBytes = UnsafeRawBufferPointer(rebasing: buffer[(offset + header)..<(offset + header + length)])
            let end = nameBytes.firstIndex(of: 0) ?? nameBytes.count
            events.append(InotifyEvent(watch: wd, mask: mask, name: String(decoding: nameBytes[0..<end], as: UTF8.self)))
            offset += header + length
        }
        return events
    }
}

/// What the poll thread delivers.
public enum WatchSignal: Sendable {
    case events([InotifyEvent])
    /// Events were lost (the kernel queue or our buffer overflowed): rescan everything.
    case overflow
    /// Nothing happened for a tick: time to look at files waiting to settle.
    case tick
}

/// The one owner of an inotify descriptor and of the eventfd that stops its poll thread.
///
/// `@unchecked Sendable` is safe because both descriptors are fixed at init and closed only when
/// this object goes away (they are ``FileDescriptor``s); `inotify_add_watch` may be called from
/// any thread while the poll thread reads (the kernel serializes them), and the stop flag is a
/// `Mutex`.
public final class Inotify: @unchecked Sendable {
    private let events: FileDescriptor
    private let stopper: FileDescriptor
    private let stopped = Mutex(false)

    /// Masks Intake watches with.
    /// `IN_DELETE`: a temporary name's removal completes a rename carried out as link + unlink.
    public static let inboxMask = UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)
    public static let folderMask = UInt32(IN_CREATE | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)
    /// For `inbox/check`, the one folder a partner can replace (it owns the inbox): a symbolic
    /// link swapped in is not watched through (`ENOTDIR`), so no event names a file elsewhere.
    /// The operator's folders above may be links (a data root moved to another disk).
    public static let checkMask = inboxMask | UInt32(IN_DONT_FOLLOW)

    /// Opens the inotify instance and its stop descriptor, both non-blocking and close-on-exec.
    public init() throws(SystemError) {
        events = FileDescriptor(adopting: try syscall("inotify_init1") { inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC)) }, path: "inotify")
        stopper = FileDescriptor(adopting: try syscall("eventfd") { intake_eventfd_nonblocking() }, path: "eventfd")
    }

    /// Watches `path`; returns the watch descriptor.
    public func watch(_ path: String, mask: UInt32) throws(SystemError) -> Int32 {
        try syscall("inotify_add_watch", path) { inotify_add_watch(events.rawValue, path, mask) }
    }

    /// Stops watching `watch` (the kernel then queues `IN_IGNORED` for it).
    public func unwatch(_ watch: Int32) {
        _ = try? syscall("inotify_rm_watch", "\(watch)") { inotify_rm_watch(events.rawValue, watch) }
    }

    /// Starts the thread that blocks in `poll` on the inotify and stop descriptors, and returns
    /// the stream it feeds. At most `bufferLimit` signals wait unconsumed; past that, events are
    /// dropped and an `.overflow` follows, exactly as when the kernel's own queue overflows.
    public func start(tickMilliseconds: Int32 = 250, bufferLimit: Int = 4096) -> AsyncStream<WatchSignal> {
        let (stream, continuation) = AsyncStream.makeStream(of: WatchSignal.self, bufferingPolicy: .bufferingOldest(max(bufferLimit, 2)))
        DetachedThread.start { [self] in pollLoop(continuation, tick: tickMilliseconds) }
        return stream
    }

    /// Wakes the poll thread and makes it finish the stream. Safe from any thread, idempotent.
    public func stop() {
        let first = stopped.withLock { done -> Bool in
            defer { done = true }
            return !done
        }
        guard first else { return }
        // Writing the eventfd wakes the poll; the counter's value does not matter.
        try? stopper.writeAll(withUnsafeBytes(of: UInt64(1)) { Array($0) })
    }

    private func pollLoop(_ continuation: AsyncStream<WatchSignal>.Continuation, tick: Int32) {
        // At least one whole event with the longest name fits, as inotify(7) asks.
        let buffer = ChunkBuffer(count: 64 * (MemoryLayout<inotify_event>.size + Int(NAME_MAX) + 1))
        var lost = false
        defer { continuation.finish() }
        while true {
            var fds = [pollfd(fd: events.rawValue, events: Int16(POLLIN), revents: 0), pollfd(fd: stopper.rawValue, events: Int16(POLLIN), revents: 0)]
            let ready: Int32
            do { ready = try syscall("poll") { poll(&fds, 2, tick) } } catch { return }
            if fds[1].revents != 0 { return }
            var signal = WatchSignal.tick
            if ready > 0 && fds[0].revents & Int16(POLLIN) != 0 {
                var batch: [InotifyEvent] = []
                // Non-blocking: the queue is drained when read fails with EAGAIN.
                while let n = try? events.read(into: buffer.raw), n > 0 {
                    batch += InotifyEvent.parse(buffer.prefix(n))
                }
                signal = batch.contains(where: \.isOverflow) ? .overflow : .events(batch)
            }
            // After a drop, nothing is delivered until the consumer learns it must rescan.
            if lost {
                if case .enqueued = continuation.yield(.overflow) { lost = false } else { continue }
            }
            if case .dropped = continuation.yield(signal) {
                if case .tick = signal { continue }
                lost = true
            }
        }
    }
}
