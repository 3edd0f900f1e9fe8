import Foundation
import JSON
import Synchronization
import TaskDispatchApp

extension Benchmark {
    /// 8. A large fleet: `settings.largeFleetWorkers` workers long-poll one server that runs in
    /// a process of its own (so that its memory is measured alone, not with the load
    /// generator's threads). Measures, with all of them parked: the server's RSS, statements
    /// per second reaching PostgreSQL, the wake latency (the row's latencies) and the latency
    /// of an ordinary request (`GET tasktypes`). The benchmark's in-process server is stopped
    /// first (so the statements counted are the fleet server's alone): this row runs last.
    func largeFleet() throws -> BenchResult {
        let workers = settings.largeFleetWorkers
        let label = "8 large fleet, \(workers) parked, server in its own process"
        guard let executable = settings.serverExecutable else {
            return .notAvailable(label, "no taskdispatch binary to run the server with")
        }
        let child = try BenchServerProcess.start(
            executable: executable, connectionString: connectionString,
            // Every worker comes from the load generator's one address: no per-address limit,
            // as behind a reverse proxy.
            arguments: ["--max-connections", "\(workers + 1000)", "--max-connections-per-ip", "0", "--schedule-rate-limit", "0"])
        defer { child.stop() }
        let port = child.port
        if try server.accounts.user(named: Self.fleetAdmin) != nil { try server.accounts.removeUser(name: Self.fleetAdmin) }
        let adminPassword = try server.accounts.addUser(name: Self.fleetAdmin, isAdmin: true).appPassword
        server.stop()
        let admin = BenchClient(port: port, headers: BenchClient.userHeaders(user: Self.fleetAdmin, password: adminPassword))
        let user = BenchClient(port: port, headers: BenchClient.userHeaders(user: Self.user, password: userPassword))
        let parked = { () -> Int in
            var tally = WorkerTally()
            let data = try? admin.expectOK("GET", "admin/status", [:], tally: &tally)
            return Int(data?["waitingLongPolls"]?.int64Value ?? -1)
        }
        let fleet = ParkedFleet.start(
            workers: workers, port: port, headers: BenchClient.appHeaders(app: Self.app, secret: appSecret))
        var note = ""
        let result = try measure(label, expecting: settings.wakeRounds) {
            var outcome = WorkerOutcome()
            defer { outcome.errors += fleet.release(scheduler: user, batch: settings.scheduleBatch) }
            guard waitUntil(seconds: 120, pollMilliseconds: 100, { parked() >= workers - workers / 100 }) else {
                outcome.errors.append("only \(parked()) of \(workers) workers parked")
                return outcome
            }
            let (perSecond, idleSeconds) = try idleStatementsPerSecond()
            let residentMB = child.residentMegabytes()

            var ordinary = WorkerTally()
            for _ in 0..<settings.wakeRounds { _ = try user.expectOK("GET", "tasktypes", [:], tally: &ordinary) }

            // Every `--max-wait-seconds` (30) each worker's poll ends and it polls again, so at any
            // moment a few are between polls: 99% parked is a full fleet. The count is an HTTP
            // call with database reads, asked every 20 ms rather than every millisecond so that
            // asking does not load the server being measured.
            try measureWakes(
                fleet, scheduler: user, rounds: settings.wakeRounds, parked: parked, enough: workers - workers / 100,
                pollMilliseconds: 20, into: &outcome)
            note = "server RSS \(Self.format(residentMB, 0)) MB; \(Self.format(perSecond, 2)) statements/s over "
                + "\(Self.format(idleSeconds, 0)) s; ordinary request (GET tasktypes) p50 "
                + "\(Self.format(BenchResult.percentile(0.5, of: ordinary.latencies) ?? 0, 2)) ms, p99 "
                + "\(Self.format(BenchResult.percentile(0.99, of: ordinary.latencies) ?? 0, 2)) ms"
            return outcome
        }
        return result.with(note: note)
    }

    static let fleetAdmin = "bench-admin"
}

/// Workers parked on `next` with the longest wait, each on its own thread and connection,
/// recording when each got a task.
final class ParkedFleet: Sendable {
    private let stopping = Atomic<Bool>(false)
    private let receivedAt = Mutex<[UInt64]>([])
    private let errors = Mutex<[String]>([])
    private let done = DispatchSemaphore(value: 0)
    let workers: Int

    private init(workers: Int) {
        self.workers = workers
    }

    static func start(workers: Int, port: UInt16, headers: [(String, String)]) -> ParkedFleet {
        let fleet = ParkedFleet(workers: workers)
        let thread = Thread {
            defer { fleet.done.signal() }
            let outcome = runWorkers(workers, stackSize: 128 << 10) { _, tally in
                let client = BenchClient(port: port, headers: headers)
                while !fleet.stopping.load(ordering: .acquiring) {
                    let (status, _) = try client.call("GET", "tasks_provider/next", Benchmark.longPollBody, tally: &tally)
                    guard status == 200 || status == 204 else { throw BenchFailure("next answered \(status)") }
                    if status == 200 && !fleet.stopping.load(ordering: .acquiring) {
                        let now = DispatchTime.now().uptimeNanoseconds
                        fleet.receivedAt.withLock { $0.append(now) }
                    }
                }
            }
            fleet.errors.withLock { $0 = outcome.errors }
        }
        thread.stackSize = 1 << 20
        thread.start()
        return fleet
    }

    var receivedCount: Int { receivedAt.withLock { $0.count } }

    /// When the `index`th task reached a worker (uptime nanoseconds).
    func received(at index: Int) -> UInt64? {
        receivedAt.withLock { index < $0.count ? $0[index] : nil }
    }

    /// Ends the fleet: each worker gets one task and then stops; waits (up to 60 s) for the
    /// threads to end. Returns the workers' failures.
    func release(scheduler: BenchClient, batch: Int) -> [String] {
        stopping.store(true, ordering: .releasing)
        var tally = WorkerTally()
        var left = workers
        while left > 0 {
            let size = min(left, batch)
            let tasks = JSONValue.object(["tasks": .array((0..<size).map { _ in Benchmark.newTask() })])
            guard (try? scheduler.expectOK("POST", "schedule/batch", tasks, tally: &tally)) != nil else { break }
            left -= size
        }
        guard done.wait(timeout: .now() + 60) == .success else { return ["the fleet did not end within 60 s"] }
        return errors.withLock { $0 }
    }
}

/// `taskdispatch serve` over the benchmark's database in a child process.
final class BenchServerProcess {
    let process: Process
    let port: UInt16

    private init(process: Process, port: UInt16) {
        self.process = process
        self.port = port
    }

    static func start(executable: String, connectionString: String, arguments: [String]) throws -> BenchServerProcess {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["serve", "--host", "127.0.0.1", "--port", "0", "--database-url", connectionString] + arguments
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        // The first line names the port: "... listening on http://127.0.0.1:PORT".
        let firstLine = Mutex<String?>(nil)
        let read = DispatchSemaphore(value: 0)
        Thread {
            var line: [UInt8] = []
            while let byte = try? output.fileHandleForReading.read(upToCount: 1)?.first, byte != UInt8(ascii: "\n") {
                line.append(byte)
            }
            firstLine.withLock { $0 = String(decoding: line, as: UTF8.self) }
            read.signal()
        }.start()
        guard read.wait(timeout: .now() + 60) == .success,
            let port = firstLine.withLock({ $0 })?.split(separator: ":").last.flatMap({ UInt16($0) })
        else {
            process.terminate()
            throw BenchFailure("the benchmark's server process did not say where it listens")
        }
        return BenchServerProcess(process: process, port: port)
    }

    /// The child's resident memory, from `/proc/PID/status`.
    func residentMegabytes() -> Double {
        Benchmark.residentMegabytes(statusFile: "/proc/\(process.processIdentifier)/status")
    }

    func stop() {
        process.terminate()
        process.waitUntilExit()
    }
}
