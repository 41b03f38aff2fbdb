import Dispatch
import IntakeSystem
import IntakeTestSupport
import Synchronization
import Testing

@Suite struct BlockingThreadsTests {
    /// Two threads run two jobs at once; a third waits in the queue until one of them ends.
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
        async let c: Bool = threads.run {
            state.started.add(1, ordering: .relaxed)
            return state.firstEnded.load(ordering: .acquiring)
        }
        // A third thread would take the job at once: with two, it stays queued, not started.
        #expect(await eventually { threads.queuedJobs == 1 && state.started.load(ordering: .relaxed) == 2 })
        gateA.signal()
        // The third job could only start on the thread the first one left.
        #expect(try await c)
        gateB.signal()
        try await a
        try await b
    }

    /// Jobs queued before the shutdown still run; one queued after it is refused, not left
    /// waiting for a thread that ended.
    @Test func aShutdownFinishesTheQueueAndRefusesWhatComesAfter() async throws {
        let threads = BlockingThreads(count: 1)
        let gate = DispatchSemaphore(value: 0), state = State()
        async let first: Int = threads.run {
            state.started.add(1, ordering: .relaxed)
            gate.wait()
            return 1
        }
        // The second job is queued only once the first holds the thread.
        #expect(await eventually { state.started.load(ordering: .relaxed) == 1 })
        async let second: Int = threads.run { 2 }
        #expect(await eventually { threads.queuedJobs == 1 })
        threads.shutdown()
        await #expect(throws: BlockingThreads.Stopped.self) { try await threads.run { 3 } }
        gate.signal()
        #expect(try await first == 1)
        #expect(try await second == 2)
    }

    private final class State: Sendable {
        let started = Atomic<Int>(0)
        let firstEnded = Atomic<Bool>(false)
    }
}
