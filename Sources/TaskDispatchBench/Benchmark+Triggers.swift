import Foundation
import JSON
import Logging
import MicroHTTP
import Synchronization
import TaskDispatchApp
import TaskQueue

extension Benchmark {
    /// 13. Schedule → result latency of one task at a time reaching an idle worker: first a
    /// worker parked in a long poll (the reference), then an ExApp that never polls and is
    /// called through its trigger URL (`POST /trigger`, answered at once, then it claims until
    /// its queue is empty). Each latency runs from the schedule's 200 to the worker's result
    /// answered 200.
    func triggerRows() throws -> [BenchResult] {
        let longPoll = try scheduleToResult(label: "13 schedule → result, long poll worker", triggered: false)
        var triggered = try scheduleToResult(label: "13 schedule → result, triggered ExApp", triggered: true)
        if let reference = longPoll.percentile(0.5), let own = triggered.percentile(0.5) {
            triggered.ratio = (own / max(reference, 1e-9), "p50 of 13 long poll")
        }
        return [longPoll, triggered]
    }

    private func scheduleToResult(label: String, triggered: Bool) throws -> BenchResult {
        let scheduler = BenchClient(port: server.port, headers: BenchClient.userHeaders(user: Self.user, password: userPassword))
        let worker = BenchTriggeredWorker(port: server.port, headers: BenchClient.appHeaders(app: Self.app, secret: appSecret))
        let exApp = triggered ? try worker.serveTriggers() : nil
        defer {
            exApp?.stop()
            worker.stop()
        }
        if let exApp {
            try server.accounts.setAppURL(
                appID: Self.app, url: try ExAppBaseURL("http://127.0.0.1:\(exApp.boundPort)"), secret: appSecret,
                sealer: try server.configuration.secretSealer())
        } else {
            worker.startLongPolling()
        }
        // Should the row fail half-way.
        defer { if triggered { try? server.accounts.setAppURL(appID: Self.app, url: nil) } }
        let server = self.server
        // The trigger sender reads the apps with a URL at its sweep (every 5 s at most).
        if triggered, !waitUntil(seconds: 30, pollMilliseconds: 50, { server.tasks.triggeredApps.contains(Self.app) }) {
            return .notAvailable(label, "the trigger sender did not learn the URL")
        }
        let result = try measure(label, expecting: settings.wakeRounds) {
            var outcome = WorkerOutcome()
            var tally = WorkerTally()
            for round in 0..<settings.wakeRounds {
                // Idle: the long poll parked again, or the ExApp's drain found its queue empty.
                guard waitUntil(seconds: 30, { triggered ? worker.isIdle : server.waitingLongPolls == 1 }) else {
                    outcome.errors.append("the worker did not become idle")
                    break
                }
                let start = DispatchTime.now().uptimeNanoseconds
                _ = try scheduler.expectOK("POST", "schedule", Self.newTask(), tally: &tally)
                guard waitUntil(seconds: 30, { worker.results > round }), let end = worker.resultTime(round) else {
                    outcome.errors.append("no result for round \(round)")
                    break
                }
                outcome.latencies.append(Double(end - start) / 1_000_000)
                outcome.processed += 1
            }
            return outcome
        }
        // The other rows' workers poll: no trigger calls during them.
        if triggered {
            try self.server.accounts.setAppURL(appID: Self.app, url: nil)
            if !waitUntil(seconds: 15, pollMilliseconds: 50, { !server.tasks.triggeredApps.contains(Self.app) }) {
                return result.with(note: "the URL was still in use after the row")
            }
        }
        return result.with(note: "trigger calls: \(worker.triggerCalls)")
    }
}

/// The worker of row 13: a long-polling loop, or an ExApp served on loopback whose trigger
/// handler drains the queue on a thread of its own. Records when each result was answered.
final class BenchTriggeredWorker: HTTPHandler, Sendable {
    private let port: UInt16
    private let headers: [(String, String)]
    private let state = Mutex(State())
    private let stopping = Atomic<Bool>(false)

    private struct State {
        var resultTimes: [UInt64] = []
        var triggerCalls = 0
        var draining = false
        /// A call came during a drain: drain once more when it ends.
        var calledAgain = false
    }
    /// Signalled when the long-polling loop has ended.
    private let loopEnded = DispatchSemaphore(value: 0)
    private let looping = Atomic<Bool>(false)

    init(port: UInt16, headers: [(String, String)]) {
        self.port = port
        self.headers = headers
    }

    var results: Int { state.withLock { $0.resultTimes.count } }
    var triggerCalls: Int { state.withLock { $0.triggerCalls } }
    /// No drain runs (its last claim found the queue empty).
    var isIdle: Bool { state.withLock { !$0.draining } }
    func resultTime(_ index: Int) -> UInt64? { state.withLock { index < $0.resultTimes.count ? $0.resultTimes[index] : nil } }

    /// Ends the loops; waits for the long-polling one (its last poll ends within its wait).
    func stop() {
        stopping.store(true, ordering: .relaxed)
        if looping.load(ordering: .relaxed) { _ = loopEnded.wait(timeout: .now() + 15) }
    }

    /// Claims (long polling when `wait` > 0) and finishes tasks until a claim answers empty,
    /// or forever when `forever`.
    private func work(wait: Int, forever: Bool) {
        let client = BenchClient(port: port, headers: headers)
        var tally = WorkerTally()
        let claim: JSONValue = [
            "providerIds": [.string(Benchmark.provider)], "taskTypeIds": [.string(Benchmark.type)], "wait": .int(Int64(wait)),
        ]
        while !stopping.load(ordering: .relaxed) {
            guard let (status, data) = try? client.call("GET", "tasks_provider/next", claim, tally: &tally) else { return }
            guard status == 200, let id = data?["task"]?["id"]?.int64Value else {
                if forever { continue }
                return
            }
            let done = try? client.call("POST", "tasks_provider/\(id)/result", ["output": ["output": "done"]], tally: &tally)
            if done?.status == 200 { state.withLock { $0.resultTimes.append(DispatchTime.now().uptimeNanoseconds) } }
        }
    }

    func startLongPolling() {
        looping.store(true, ordering: .relaxed)
        Thread.detachNewThread { [self] in
            work(wait: 5, forever: true)
            loopEnded.signal()
        }
    }

    /// Serves `POST /trigger` on a free loopback port.
    func serveTriggers() throws -> HTTPServer {
        let server = HTTPServer(
            configuration: HTTPServerConfiguration(host: "127.0.0.1", port: 0, threadPoolSize: 2), handler: self,
            logger: .init(label: "bench-exapp") { _ in SwiftLogNoOpLogHandler() })
        try server.start()
        return server
    }

    func handle(_ request: HTTPRequest) -> HTTPResponse {
        guard request.method == "POST", request.path == "/trigger" else { return HTTPResponse(status: 404) }
        let start = state.withLock { state in
            state.triggerCalls += 1
            if state.draining { state.calledAgain = true }
            defer { state.draining = true }
            return !state.draining
        }
        if start {
            Thread.detachNewThread { [self] in
                repeat { work(wait: 0, forever: false) } while state.withLock { state in
                    defer { state.calledAgain = false }
                    state.draining = state.calledAgain
                    return state.calledAgain
                }
            }
        }
        return HTTPResponse(status: 200, body: Array("{}".utf8))
    }

    func reject(_ head: HTTPRequestHead, reason: HTTPRejection) -> HTTPResponse { HTTPResponse(status: 400) }
}
