import BackgroundThreads
import Dispatch
import Foundation
import Synchronization
import TaskDispatchTesting
import Testing

@Suite("Background thread")
struct BackgroundThreadTests {
    @Test("nothing runs before start; start runs the body on a thread with the given name")
    func startRunsNamedThread() {
        let name = ThreadProbe.uniqueName("bt-named")
        let thread = BackgroundThread(name: name)
        #expect(thread.state == .idle)
        #expect(ThreadProbe.threadCount(named: name) == 0)
        let running = DispatchSemaphore(value: 0)
        thread.start {
            running.signal()
            while thread.sleep(for: .seconds(60)) {}
        }
        #expect(running.wait(timeout: .now() + 5) == .success)
        #expect(thread.state == .running)
        #expect(ThreadProbe.threadCount(named: name) == 1)
        #expect(ThreadProbe.returns(within: 5) { thread.stop() })
        #expect(thread.state == .stopped)
    }

    @Test("start twice runs one thread, one body")
    func startTwice() {
        let name = ThreadProbe.uniqueName("bt-twice")
        let thread = BackgroundThread(name: name)
        let bodies = Atomic(0)
        for _ in 0..<2 {
            thread.start {
                bodies.add(1, ordering: .relaxed)
                while thread.sleep(for: .seconds(60)) {}
            }
        }
        // Both bodies (if there were two) have had time to begin.
        usleep(200_000)
        #expect(bodies.load(ordering: .relaxed) == 1)
        #expect(ThreadProbe.threadCount(named: name) == 1)
        #expect(ThreadProbe.returns(within: 5) { thread.stop() })
        #expect(ThreadProbe.threadCount(named: name, becoming: 0) == 0)
    }

    @Test("stop before start returns at once, and a later start does nothing")
    func stopBeforeStart() {
        let thread = BackgroundThread(name: "bt-early-stop")
        let bodies = Atomic(0)
        #expect(ThreadProbe.returns(within: 1) { thread.stop() })
        thread.start { bodies.add(1, ordering: .relaxed) }
        usleep(100_000)
        #expect(bodies.load(ordering: .relaxed) == 0)
        #expect(thread.state == .stopped)
        #expect(ThreadProbe.returns(within: 1) { thread.stop() })
    }

    @Test("stop waits until the body has returned; a second stop returns at once")
    func stopWaitsForTheBody() {
        let thread = BackgroundThread(name: "bt-stop-waits")
        let finished = Atomic(false)
        thread.start {
            while thread.sleep(for: .seconds(60)) {}
            // Winding up takes a while, like a call in flight.
            usleep(300_000)
            finished.store(true, ordering: .releasing)
        }
        thread.stop()
        let finishedBeforeStopReturned = finished.load(ordering: .acquiring)
        #expect(finishedBeforeStopReturned)
        #expect(thread.state == .stopped)
        #expect(ThreadProbe.returns(within: 1) { thread.stop() })
    }

    @Test("two threads stopping at once: both return, the body ran to its end once")
    func concurrentStops() {
        let thread = BackgroundThread(name: "bt-two-stops")
        let exits = Atomic(0)
        let release = DispatchSemaphore(value: 0)
        thread.start {
            while thread.sleep(for: .seconds(60)) {}
            // Held until the test lets go, so the second stop comes while the first waits.
            release.wait()
            exits.add(1, ordering: .relaxed)
        }
        let sawExit = Mutex<[Bool]>([])
        let stops = DispatchGroup()
        for _ in 0..<2 {
            stops.enter()
            Thread {
                thread.stop()
                sawExit.withLock { $0.append(exits.load(ordering: .relaxed) == 1) }
                stops.leave()
            }.start()
        }
        // The stop that found the thread stopping returns while the body is still held.
        usleep(200_000)
        #expect(sawExit.withLock { $0 } == [false])
        release.signal()
        #expect(stops.wait(timeout: .now() + 5) == .success)
        #expect(sawExit.withLock { $0.sorted { !$0 && $1 } } == [false, true], "one stop waited for the body, one did not")
        #expect(exits.load(ordering: .relaxed) == 1)
        #expect(thread.state == .stopped)
    }

    @Test("stop ends a long sleep at once, and the sleep says to stop")
    func stopInterruptsSleep() {
        let thread = BackgroundThread(name: "bt-interrupt")
        let sleepResult = Mutex<Bool?>(nil)
        let sleeping = DispatchSemaphore(value: 0)
        thread.start {
            sleeping.signal()
            let result = thread.sleep(for: .seconds(3600))
            sleepResult.withLock { $0 = result }
        }
        sleeping.wait()
        #expect(ThreadProbe.returns(within: 5) { thread.stop() })
        #expect(sleepResult.withLock { $0 } == false)
        #expect(thread.sleep(for: .seconds(3600)) == false, "a stopped thread's sleep returns at once")
    }

    @Test("wakeUp ends a sleep early and the loop goes on")
    func wakeUp() {
        let thread = BackgroundThread(name: "bt-wake-up")
        let rounds = Atomic(0)
        let roundDone = DispatchSemaphore(value: 0)
        thread.start {
            while thread.sleep(for: .seconds(3600)) {
                rounds.add(1, ordering: .relaxed)
                roundDone.signal()
            }
        }
        defer { thread.stop() }
        for expected in 1...3 {
            thread.wakeUp()
            #expect(roundDone.wait(timeout: .now() + 5) == .success)
            #expect(rounds.load(ordering: .relaxed) == expected)
        }
    }

    @Test("wake-ups that come before the sleep are merged into one")
    func wakeUpsMerged() {
        let thread = BackgroundThread(name: "bt-wake-merged")
        let rounds = Atomic(0)
        for _ in 0..<100 { thread.wakeUp() }
        thread.start {
            while thread.sleep(for: .seconds(3600)) {
                rounds.add(1, ordering: .relaxed)
            }
        }
        defer { thread.stop() }
        usleep(300_000)
        #expect(rounds.load(ordering: .relaxed) == 1)
    }

    @Test("a body that returns on its own leaves the thread stopped; stop returns at once")
    func bodyReturnsOnItsOwn() {
        let thread = BackgroundThread(name: "bt-own-exit")
        let ran = DispatchSemaphore(value: 0)
        thread.start { ran.signal() }
        #expect(ran.wait(timeout: .now() + 5) == .success)
        // The exit is recorded right after the body returns.
        var waited = 0
        while thread.state != .stopped, waited < 500 {
            usleep(10_000)
            waited += 1
        }
        #expect(thread.state == .stopped)
        #expect(ThreadProbe.returns(within: 1) { thread.stop() })
    }

    @Test("shouldStop turns true with the stop, for bodies that poll it between blocking calls")
    func shouldStop() {
        let thread = BackgroundThread(name: "bt-poll")
        let polls = Atomic(0)
        thread.start {
            while !thread.shouldStop {
                polls.add(1, ordering: .relaxed)
                usleep(10_000)
            }
        }
        usleep(100_000)
        #expect(!thread.shouldStop)
        #expect(ThreadProbe.returns(within: 5) { thread.stop() })
        #expect(thread.shouldStop)
        #expect(polls.load(ordering: .relaxed) > 0)
    }
}
