import Dispatch
import Glibc
import Synchronization
import Testing
@testable import MicroHTTP

@Suite("Handler pool")
struct HandlerPoolTests {
    @Test("every queued job runs once, on at most as many threads as the pool has")
    func everyJobOnceBounded() {
        let pool = HandlerPool(threadCount: 3, name: "test-handlers")
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
        pool.shutDown()
        let state = counts.withLock { $0 }
        #expect(state.runs.allSatisfy { $0 == 1 })
        #expect(state.mostRunning <= 3)
        #expect(state.mostRunning >= 2, "jobs should overlap on several threads")
    }

    @Test("one thread runs jobs in the order queued, and shutting down finishes the queue first")
    func firstComeFirstServed() {
        let pool = HandlerPool(threadCount: 1, name: "test-handlers")
        let order = Mutex<[Int]>([])
        for index in 0..<2000 { pool.submit { order.withLock { $0.append(index) } } }
        pool.shutDown()
        #expect(order.withLock { $0 } == Array(0..<2000))
    }
}
