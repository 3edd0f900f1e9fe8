import Foundation
import JSON
import Postgres
import Synchronization
import TaskDispatchApp

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
        let scheduler = BenchClient(port: server.port, headers: BenchClient.userHeaders(user: Self.user, password: userPassword))
        let server = self.server
        let fleet = ParkedFleet.start(
            workers: workers, port: server.port, headers: BenchClient.appHeaders(app: Self.app, secret: appSecret))
        return try measure("5 wake latency, \(workers) parked", expecting: settings.wakeRounds) {
            var outcome = WorkerOutcome()
            defer { outcome.errors += fleet.release(scheduler: scheduler, batch: settings.scheduleBatch) }
            try measureWakes(
                fleet, scheduler: scheduler, rounds: settings.wakeRounds, parked: { server.waitingLongPolls }, enough: workers,
                into: &outcome)
            return outcome
        }
    }

    /// Schedules one task at a time, each once `enough` of `fleet` are parked (`parked` is
    /// polled every `pollMilliseconds`), and records how long each took to reach a worker.
    func measureWakes(
        _ fleet: ParkedFleet, scheduler: BenchClient, rounds: Int, parked: () -> Int, enough: Int, pollMilliseconds: Int = 1,
        into outcome: inout WorkerOutcome
    ) throws {
        var tally = WorkerTally()
        for _ in 0..<rounds {
            guard waitUntil(seconds: 30, pollMilliseconds: pollMilliseconds, { parked() >= enough }) else {
                outcome.errors.append("only \(parked()) of \(fleet.workers) workers parked")
                return
            }
            let before = fleet.receivedCount
            _ = try scheduler.expectOK("POST", "schedule", Self.newTask(), tally: &tally)
            let scheduled = DispatchTime.now().uptimeNanoseconds
            guard waitUntil(seconds: 30, { fleet.receivedCount > before }), let got = fleet.received(at: before) else {
                outcome.errors.append("no worker got the task")
                return
            }
            outcome.latencies.append(Double(got > scheduled ? got - scheduled : 0) / 1_000_000)
            outcome.processed += 1
        }
    }

    /// 6. Idle fleet: `settings.idleWorkers` workers long-poll an empty queue for
    /// `settings.idleSeconds`; counts the statements that reach PostgreSQL (committed
    /// transactions of the database, from `pg_stat_database`) and reads this process's memory.
    func idleFleet() throws -> BenchResult {
        let workers = settings.idleWorkers
        let scheduler = BenchClient(port: server.port, headers: BenchClient.userHeaders(user: Self.user, password: userPassword))
        let server = self.server
        let fleet = ParkedFleet.start(
            workers: workers, port: server.port, headers: BenchClient.appHeaders(app: Self.app, secret: appSecret))
        var note = ""
        let result = try measure("6 idle fleet, \(workers) parked", expecting: 0) {
            var outcome = WorkerOutcome()
            defer { outcome.errors += fleet.release(scheduler: scheduler, batch: settings.scheduleBatch) }
            guard waitUntil(seconds: 30, { server.waitingLongPolls == workers }) else {
                outcome.errors.append("only \(server.waitingLongPolls) of \(workers) workers parked")
                return outcome
            }
            let (perSecond, seconds) = try idleStatementsPerSecond()
            let parkedAtEnd = server.waitingLongPolls
            note = "\(Self.format(perSecond, 2)) statements/s over \(Self.format(seconds, 0)) s; "
                + "RSS \(Self.format(Self.residentMegabytes(), 0)) MB (server and client threads); \(parkedAtEnd) parked at the end"
            if parkedAtEnd != workers { outcome.errors.append("\(workers - parkedAtEnd) workers were not parked at the end") }
            return outcome
        }
        return result.with(note: note)
    }

    /// Statements per second that reach PostgreSQL while nothing happens but parked long
    /// polls, over `settings.idleSeconds`. A backend that goes idle reports its counts up to
    /// 10 s later (PostgreSQL's idle statistics interval): the parking's claims are let arrive
    /// before counting, and the measured phase's own counts before the second reading.
    func idleStatementsPerSecond() throws -> (perSecond: Double, seconds: Double) {
        Thread.sleep(forTimeInterval: settings.statisticsSettleSeconds)
        let commitsBefore = try committedTransactions()
        let start = DispatchTime.now().uptimeNanoseconds
        Thread.sleep(forTimeInterval: settings.idleSeconds)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1_000_000_000
        Thread.sleep(forTimeInterval: settings.statisticsSettleSeconds)
        let commitsAfter = try committedTransactions()
        // Our own two reads are not the server's.
        return (Double(max(commitsAfter - commitsBefore - 2, 0)) / seconds, seconds)
    }

    /// Committed transactions of this database so far; every statement outside a transaction is one.
    func committedTransactions() throws -> Int64 {
        try admin.query("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()").rows.first?.int64("xact_commit") ?? 0
    }

    /// Polls every `pollMilliseconds` for up to `seconds`.
    func waitUntil(seconds: Double, pollMilliseconds: Int = 1, _ condition: () -> Bool) -> Bool {
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(seconds * 1_000_000_000)
        while !condition() {
            if DispatchTime.now().uptimeNanoseconds > deadline { return false }
            usleep(UInt32(pollMilliseconds * 1000))
        }
        return true
    }

    /// The resident memory of the process whose `/proc/PID/status` is `statusFile`.
    static func residentMegabytes(statusFile: String = "/proc/self/status") -> Double {
        guard let status = try? String(contentsOfFile: statusFile, encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kilobytes = line.split(separator: " ").dropFirst().first.flatMap({ Double($0) })
        else { return 0 }
        return kilobytes / 1024
    }

    static func format(_ value: Double, _ decimals: Int) -> String { BenchReport.format(value, decimals) }
}
