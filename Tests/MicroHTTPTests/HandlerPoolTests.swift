import BackgroundThreads
import Dispatch
import Glibc
@testable import MicroHTTP
import Synchronization
import TaskDispatchTesting
import Testing

@Suite("Handler pool")
struct HandlerPoolTests {
    @Test("every queued job runs once, on at most as many threads as the pool has")
    func everyJobOnceBounded() {
        let pool = HandlerPool(threadCount: 3, name: "test-handlers")
        pool.start()
        let counts = Mutex((runs: [Int](repeating: 0, count: 300), running: 0, mostRunning: 0))
        let done = DispatchGroup()
        for index in 0..<300 {
            done.enter()
            pool.submit {
                counts.withLock { state in
                    state.runs[index] += 1
                    state.running += 1
                    state.mostRunning = max(state.mostRunning, state.running)
                }
                usleep(200)
                counts.withLock { $0.running -= 1 }
                done.leave()
            }
        }
        done.wait()
        pool.stop()
        let state = counts.withLock { $0 }
        #expect(state.runs.allSatisfy { $0 == 1 })
        #expect(state.mostRunning <= 3)
        #expect(state.mostRunning >= 2, "jobs should overlap on several threads")
    }

    @Test("one thread runs jobs in the order queued, and shutting down finishes the queue first")
    func firstComeFirstServed() {
        let pool = HandlerPool(threadCount: 1, name: "test-handlers")
        pool.start()
        let order = Mutex<[Int]>([])
        for index in 0..<2000 { pool.submit { order.withLock { $0.append(index) } } }
        pool.stop()
        #expect(order.withLock { $0 } == Array(0..<2000))
    }
}

@Suite("Handler pool lifecycle")
struct HandlerPoolLifecycleTests {
    @Test("no thread before start; start twice runs the configured threads, not twice as many")
    func startTwice() {
        let name = ThreadProbe.uniqueName("hp-twice")
        let pool = HandlerPool(threadCount: 3, name: name)
        #expect(ThreadProbe.threadCount(named: name) == 0)
        pool.start()
        pool.start()
        // Enough jobs blocked at once to occupy every thread the pool has, and more.
        let release = DispatchSemaphore(value: 0)
        let running = Atomic(0)
        for _ in 0..<6 {
            pool.submit {
                running.add(1, ordering: .relaxed)
                release.wait()
            }
        }
        usleep(300_000)
        #expect(running.load(ordering: .relaxed) == 3)
        #expect(ThreadProbe.threadCount(named: name) == 3)
        for _ in 0..<6 { release.signal() }
        #expect(ThreadProbe.returns(within: 5) { pool.stop() })
        #expect(running.load(ordering: .relaxed) == 6, "the queued jobs ran before the threads ended")
        #expect(ThreadProbe.threadCount(named: name, becoming: 0) == 0)
    }

    @Test("stop without start returns at once, and a later start runs nothing")
    func stopBeforeStart() {
        let name = ThreadProbe.uniqueName("hp-early")
        let pool = HandlerPool(threadCount: 2, name: name)
        #expect(ThreadProbe.returns(within: 2) { pool.stop() })
        pool.start()
        let ran = Atomic(false)
        pool.submit { ran.store(true, ordering: .relaxed) }
        usleep(100_000)
        let jobRan = ran.load(ordering: .relaxed)
        #expect(!jobRan)
        #expect(ThreadProbe.threadCount(named: name) == 0)
        #expect(pool.threads.allSatisfy { $0.state == .stopped })
    }

    @Test("stop twice: the second returns at once")
    func stopTwice() {
        let pool = HandlerPool(threadCount: 2, name: "hp-stop-twice")
        pool.start()
        #expect(ThreadProbe.returns(within: 5) { pool.stop() })
        #expect(ThreadProbe.returns(within: 1) { pool.stop() })
    }
}
