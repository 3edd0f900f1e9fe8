import Foundation
import JSON
import Postgres
import Synchronization

extension Benchmark {
    /// The `next` body of a parked worker: wait as long as the server allows.
    static let longPollBody: JSONValue = [
        "providerIds": [.string(provider)], "taskTypeIds": [.string(type)], "wait": .int(Int64(Int32.max)),
    ]

    /// 5. Wake latency: `settings.parkedWorkers` workers long-poll an idle queue; one task is
    /// scheduled at a time, and each latency runs from the schedule's 200 to a worker holding
    /// the task (clamped at 0: the worker may get it before the scheduler has read its 200).
    func wakeLatency() throws -> BenchResult {
        let workers = settings.parkedWorkers
        let rounds = settings.wakeRounds
        let port = server.port
        let appHeaders = BenchClient.appHeaders(app: Self.app, secret: appSecret)
        let scheduler = BenchClient(port: port, headers: BenchClient.userHeaders(user: Self.user, password: userPassword))
        let stopping = Atomic<Bool>(false)
        let received = Mutex<[UInt64]>([])
        let fleetErrors = Mutex<[String]>([])
        let fleetDone = DispatchSemaphore(value: 0)
        let server = self.server
        let fleet = Thread {
            defer { fleetDone.signal() }
            let outcome = runWorkers(workers, stackSize: 256 << 10) { _, tally in
                let client = BenchClient(port: port, headers: appHeaders)
                while !stopping.load(ordering: .acquiring) {
                    let (status, _) = try client.call("GET", "tasks_provider/next", Self.longPollBody, tally: &tally)
                    guard status == 200 || status == 204 else { throw BenchFailure("next answered \(status)") }
                    if status == 200 && !stopping.load(ordering: .acquiring) {
                        let now = DispatchTime.now().uptimeNanoseconds
                        received.withLock { $0.append(now) }
                    }
                }
            }
            fleetErrors.withLock { $0 = outcome.errors }
        }
        fleet.start()
        return try measure("5 wake latency, \(workers) parked", expecting: rounds) {
            var outcome = WorkerOutcome()
            var tally = WorkerTally()
            for _ in 0..<rounds {
                guard waitUntil({ server.waitingLongPolls == workers }) else {
                    outcome.errors.append("only \(server.waitingLongPolls) of \(workers) workers parked")
                    break
                }
                let before = received.withLock { $0.count }
                _ = try scheduler.expectOK("POST", "schedule", Self.newTask(), tally: &tally)
                let scheduled = DispatchTime.now().uptimeNanoseconds
                guard waitUntil({ received.withLock { $0.count } > before }) else {
                    outcome.errors.append("no worker got the task")
                    break
                }
                let got = received.withLock { $0[before] }
                outcome.latencies.append(Double(got > scheduled ? got - scheduled : 0) / 1_000_000)
                outcome.processed += 1
            }
            try releaseFleet(workers, stopping: stopping, scheduler: scheduler, done: fleetDone)
            outcome.errors += fleetErrors.withLock { $0 }
            return outcome
        }
    }

    /// 6. Idle fleet: `settings.idleWorkers` workers long-poll an empty queue for
    /// `settings.idleSeconds`; counts the statements that reach PostgreSQL (committed
    /// transactions of the database, from `pg_stat_database`) and reads this process's memory.
    func idleFleet() throws -> BenchResult {
        let workers = settings.idleWorkers
        let port = server.port
        let appHeaders = BenchClient.appHeaders(app: Self.app, secret: appSecret)
        let scheduler = BenchClient(port: port, headers: BenchClient.userHeaders(user: Self.user, password: userPassword))
        let stopping = Atomic<Bool>(false)
        let fleetDone = DispatchSemaphore(value: 0)
        let server = self.server
        let fleet = Thread {
            defer { fleetDone.signal() }
            _ = runWorkers(workers, stackSize: 256 << 10) { _, tally in
                let client = BenchClient(port: port, headers: appHeaders)
                while !stopping.load(ordering: .acquiring) {
                    _ = try client.call("GET", "tasks_provider/next", Self.longPollBody, tally: &tally)
                }
            }
        }
        fleet.start()
        var note = ""
        let result = try measure("6 idle fleet, \(workers) parked", expecting: 0) {
            var outcome = WorkerOutcome()
            guard waitUntil({ server.waitingLongPolls == workers }) else {
                outcome.errors.append("only \(server.waitingLongPolls) of \(workers) workers parked")
                try releaseFleet(workers, stopping: stopping, scheduler: scheduler, done: fleetDone)
                return outcome
            }
            // A backend that goes idle reports its counts up to 10 s later (PostgreSQL's idle
            // statistics interval): let the parking's claims arrive before counting, and the
            // measured phase's own counts arrive before the second reading.
            Thread.sleep(forTimeInterval: settings.statisticsSettleSeconds)
            let commitsBefore = try committedTransactions()
            let start = DispatchTime.now().uptimeNanoseconds
            Thread.sleep(forTimeInterval: settings.idleSeconds)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1_000_000_000
            Thread.sleep(forTimeInterval: settings.statisticsSettleSeconds)
            let commitsAfter = try committedTransactions()
            let parkedAtEnd = server.waitingLongPolls
            let residentMB = Self.residentMegabytes()
            // Our own two reads are not the server's.
            let perSecond = Double(max(commitsAfter - commitsBefore - 2, 0)) / seconds
            note = "\(Self.format(perSecond, 2)) statements/s over \(Self.format(seconds, 0)) s; "
                + "RSS \(Self.format(residentMB, 0)) MB (server and client threads); \(parkedAtEnd) parked at the end"
            if parkedAtEnd != workers { outcome.errors.append("\(workers - parkedAtEnd) workers were not parked at the end") }
            try releaseFleet(workers, stopping: stopping, scheduler: scheduler, done: fleetDone)
            return outcome
        }
        return result.with(note: note)
    }

    /// Ends a parked fleet: each worker gets one task and then sees `stopping`; waits (up to
    /// 30 s) for the fleet's threads to end (`done`).
    private func releaseFleet(_ workers: Int, stopping: borrowing Atomic<Bool>, scheduler: BenchClient, done: DispatchSemaphore) throws {
        stopping.store(true, ordering: .releasing)
        var tally = WorkerTally()
        var left = workers
        while left > 0 {
            let size = min(left, settings.scheduleBatch)
            _ = try scheduler.expectOK(
                "POST", "schedule/batch", .object(["tasks": .array((0..<size).map { _ in Self.newTask() })]), tally: &tally)
            left -= size
        }
        _ = done.wait(timeout: .now() + 30)
    }

    /// Committed transactions of this database so far; every statement outside a transaction is one.
    private func committedTransactions() throws -> Int64 {
        try admin.query("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()").rows.first?.int64("xact_commit") ?? 0
    }

    /// Polls every millisecond for up to 30 s.
    private func waitUntil(_ condition: () -> Bool) -> Bool {
        let deadline = DispatchTime.now().uptimeNanoseconds + 30_000_000_000
        while !condition() {
            if DispatchTime.now().uptimeNanoseconds > deadline { return false }
            usleep(1000)
        }
        return true
    }

    static func residentMegabytes() -> Double {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kilobytes = line.split(separator: " ").dropFirst().first.flatMap({ Double($0) })
        else { return 0 }
        return kilobytes / 1024
    }

    static func format(_ value: Double, _ decimals: Int) -> String { BenchReport.format(value, decimals) }
}
