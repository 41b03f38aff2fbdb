import Dispatch
import IntakeSystem
import Synchronization
import Testing

/// The channel between pipeline threads: order, back-pressure, and cancellation that releases a
/// side blocked on the other.
@Suite struct BoundedChannelTests {
    @Test func deliversInOrderAcrossThreads() {
        let channel = BoundedChannel<Int>(capacity: 2)
        let received = Mutex<[Int]>([])
        let done = DispatchSemaphore(value: 0)
        DetachedThread.start {
            while let n = channel.receive() {
                received.withLock { $0.append(n) }
                if n == 99 { break }
            }
            done.signal()
        }
        for n in 0..<100 { #expect(channel.send(n)) }
        #expect(done.wait(timeout: .now() + 10) == .success)
        #expect(received.withLock { $0 } == Array(0..<100))
    }

    @Test func cancelReleasesAWaitingReceiver() {
        let channel = BoundedChannel<Int>(capacity: 1)
        let result = Mutex<Int?>(-1)
        let done = DispatchSemaphore(value: 0)
        let blocking = DispatchSemaphore(value: 0)
        DetachedThread.start {
            blocking.signal()
            let message = channel.receive()
            result.withLock { $0 = message }
            done.signal()
        }
        blocking.wait()
        // The receiver is at (or about to reach) its wait on an empty channel; cancel must free it.
        #expect(done.wait(timeout: .now() + .milliseconds(50)) == .timedOut, "nothing to receive yet")
        channel.cancel()
        #expect(done.wait(timeout: .now() + 10) == .success, "cancel releases the receiver")
        #expect(result.withLock { $0 } == nil)
        #expect(channel.receive() == nil, "later receives return nil too")
    }

    @Test func cancelReleasesASenderBlockedOnAFullChannel() {
        let channel = BoundedChannel<Int>(capacity: 1)
        #expect(channel.send(1))
        let sent = Mutex<Bool?>(nil)
        let done = DispatchSemaphore(value: 0)
        let blocking = DispatchSemaphore(value: 0)
        DetachedThread.start {
            blocking.signal()
            let ok = channel.send(2) // blocks: the channel is full
            sent.withLock { $0 = ok }
            done.signal()
        }
        blocking.wait()
        #expect(done.wait(timeout: .now() + .milliseconds(50)) == .timedOut, "the channel is full")
        channel.cancel()
        #expect(done.wait(timeout: .now() + 10) == .success, "cancel releases the sender")
        #expect(sent.withLock { $0 } == false)
        #expect(channel.send(3) == false)
    }
}
