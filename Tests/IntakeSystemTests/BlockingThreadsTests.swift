import Dispatch
import IntakeSystem
import IntakeTestSupport
import Synchronization
import Testing

@Suite struct BlockingThreadsTests {
    /// Two threads run two jobs at once; a third waits until one of them ends, whatever the
    /// callers do meanwhile.
    @Test func atMostCountJobsRunAtOnce() async throws {
        let threads = BlockingThreads(count: 2)
        defer { threads.shutdown() }
        let state = State()
        let gateA = DispatchSemaphore(value: 0), gateB = DispatchSemaphore(value: 0)
        async let a: Void = threads.run {
            state.started.add(1, ordering: .relaxed)
            gateA.wait()
            state.firstEnded.store(true, ordering: .releasing)
        }
        async let b: Void = threads.run {
            state.started.add(1, ordering: .relaxed)
            gateB.wait()
        }
        #expect(await eventually { state.started.load(ordering: .relaxed) == 2 })
        async let c: Bool = threads.run { state.firstEnded.load(ordering: .acquiring) }
        gateA.signal()
        // The third job could only start on the thread the first one left.
        #expect(try await c)
        gateB.signal()
        try await a
        try await b
    }

    /// A job queued after the shutdown is refused, not left waiting for a thread that ended.
    @Test func aJobAfterShutdownIsRefused() async throws {
        let threads = BlockingThreads(count: 3)
        #expect(try await threads.run { 7 } == 7)
        threads.shutdown()
        await #expect(throws: BlockingThreads.Stopped.self) { try await threads.run { 8 } }
    }

    private final class State: Sendable {
        let started = Atomic<Int>(0)
        let firstEnded = Atomic<Bool>(false)
    }
}
