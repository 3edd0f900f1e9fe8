import Foundation
import Logging
import LoopbackHTTPClient
import MicroHTTP
import Postgres
import TaskDispatchApp
import TaskQueue

/// The benchmark of issue 5: an in-process server on a free loopback port over the given
/// database, and the scenarios run against it one after another, on an emptied table each.
public final class Benchmark {
    let settings: BenchSettings
    let connectionString: String
    let logger: Logger
    let server: TaskDispatchServer
    /// The benchmark's own connection: inserts, cleaning, and the probes.
    let admin: PostgresConnection
    let userPassword: String
    let appSecret: String

    static let type = "core:text2text"
    static let user = "bench"
    static let app = "bench"
    static let provider = "bench-provider"

    /// Runs every scenario over the database at `connectionString` (migrated by the server;
    /// its tasks are deleted) and returns the table.
    public static func run(settings: BenchSettings, connectionString: String) throws -> BenchReport {
        let benchmark = try Benchmark(settings: settings, connectionString: connectionString)
        defer { benchmark.stop() }
        return BenchReport(settings: settings, results: try benchmark.runScenarios(), machine: BenchReport.describeMachine())
    }

    init(settings: BenchSettings, connectionString: String) throws {
        self.settings = settings
        self.connectionString = connectionString
        var logger = Logger(label: "taskdispatch-bench") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = .warning
        self.logger = logger
        server = Self.server(connectionString: connectionString, batchWorkerCalls: true, logger: logger)
        try server.start()
        do {
            admin = try PostgresConnection(connectionString: connectionString, logger: logger)
            try Self.clean(admin)
            if try server.accounts.user(named: Self.user) != nil { try server.accounts.removeUser(name: Self.user) }
            if try server.accounts.apps().contains(where: { $0.appID == Self.app }) { try server.accounts.removeApp(appID: Self.app) }
            userPassword = try server.accounts.addUser(name: Self.user, isAdmin: false).appPassword
            appSecret = try server.accounts.addApp(appID: Self.app)
            // Workers get tasks only of types whose preferred provider they name.
            try server.catalog.store.register(
                TaskProvider(
                    id: Self.provider, appID: Self.app, displayName: "Benchmark provider", taskType: Self.type,
                    expectedRuntimeSeconds: 1))
            try server.catalog.store.setPreferred(taskType: Self.type, providerID: Self.provider)
            try server.catalog.store.register(
                TaskProvider(
                    id: Self.successorProvider, appID: Self.app, displayName: "Benchmark successor provider",
                    taskType: Self.successorType, expectedRuntimeSeconds: 1))
            server.catalog.invalidate()
        } catch {
            server.stop()
            throw error
        }
    }

    /// A server over the benchmark's database on a free loopback port, with defaults except
    /// the schedule rate limit (the benchmark schedules far more than any user should: it
    /// measures the queue, not the limit) and, for row 2's comparison, worker call batching.
    static func server(
        connectionString: String, batchWorkerCalls: Bool, tls: TLSCredentials? = nil, metrics: Bool = true, logger: Logger
    ) -> TaskDispatchServer {
        var configuration = ServerConfiguration()
        configuration.metrics = metrics
        configuration.tls = tls
        configuration.host = "127.0.0.1"
        configuration.port = 0
        configuration.databaseURL = connectionString
        configuration.logLevel = .warning
        configuration.scheduleRateLimit = 0
        configuration.batchWorkerCalls = batchWorkerCalls
        // Row 13 seals the benchmark app's secret for its trigger calls.
        configuration.secretKeyFile = FileManager.default.temporaryDirectory.appendingPathComponent("taskdispatch-bench-secret.key").path
        return TaskDispatchServer(configuration: configuration, connectionString: connectionString, logger: logger)
    }

    func stop() {
        try? Self.clean(admin)
        admin.close()
        server.stop()
    }

    func runScenarios() throws -> [BenchResult] {
        // Row 2's ratio is to row 1 and row 3's to row 2: a row brings its reference along.
        let rows = settings.rows
        var results: [BenchResult] = []
        if !rows.isDisjoint(with: [1, 2, 3]) { results += try alternatingRows() }
        if rows.contains(4) {
            let scheduleSingle = try scheduleSingle()
            var scheduleBatched = try scheduleBatched()
            scheduleBatched.ratio = (scheduleBatched.tasksPerSecond / max(scheduleSingle.tasksPerSecond, 1e-9), "of 4 single")
            results += [scheduleSingle, scheduleBatched]
        }
        if rows.contains(5) { results.append(try wakeLatency()) }
        if rows.contains(6) { results.append(try idleFleet()) }
        if rows.contains(7) {
            let smallBacklog = try backlog(waiting: settings.smallBacklog)
            var largeBacklog = try backlog(waiting: settings.backlog, finished: settings.finishedRows)
            largeBacklog.ratio = (largeBacklog.tasksPerSecond / max(smallBacklog.tasksPerSecond, 1e-9), "of 7 small")
            results += [smallBacklog, largeBacklog]
        }
        if rows.contains(9) { results += try limitedTypeRows() }
        if rows.contains(10) { results += try metricsOverheadRows() }
        if rows.contains(11) { results += try fanInRows() }
        if rows.contains(12) { results += try chainRows() }
        if rows.contains(13) { results += try triggerRows() }
        // Last: it stops this process's server, so that only the fleet's server talks to PostgreSQL.
        if rows.contains(8) { results.append(try largeFleet()) }
        return results
    }

    /// Rows 1, 2 and 3 in alternating rounds (2 and 3 only when asked for; 2 comes with 3,
    /// its reference), each row the total of its rounds. Row 2 runs three times: against the
    /// server as configured by default, against a second one with worker call batching off, so
    /// the table shows what the HTTP path costs by itself and what batching wins back, and
    /// against a third one serving HTTPS (keep-alive connections, a self-signed certificate),
    /// so the table shows what TLS costs. The notes give every round's own ratios.
    func alternatingRows() throws -> [BenchResult] {
        let withHTTP = !settings.rows.isDisjoint(with: [2, 3])
        let withBatches = settings.rows.contains(3)
        let rounds = withHTTP ? max(1, min(settings.rounds, settings.tasks)) : 1
        let unbatched = withHTTP ? Self.server(connectionString: connectionString, batchWorkerCalls: false, logger: logger) : nil
        try unbatched?.start()
        defer { unbatched?.stop() }
        let certificate = withHTTP ? try BenchCertificate.make() : nil
        defer { certificate?.remove() }
        let overTLS = try certificate.map { certificate in
            Self.server(connectionString: connectionString, batchWorkerCalls: true, tls: try certificate.credentials(), logger: logger)
        }
        try overTLS?.start()
        defer { overTLS?.stop() }
        // Each phase measures its row over the tasks it is given; in this order: 1, 2, 2', 2 TLS, 3.
        var phases: [(Int) throws -> BenchResult] = [{ try self.ceiling(tasks: $0) }]
        if let unbatched {
            phases.append { try self.httpSingle(label: "2 HTTP next + result", tasks: $0) }
            phases.append {
                try self.httpSingle(label: "2 HTTP next + result, worker calls not batched", tasks: $0, port: unbatched.port)
            }
        }
        if let overTLS, let certificate {
            phases.append {
                try self.httpSingle(
                    label: "2 HTTPS next + result (TLS, keep-alive)", tasks: $0, port: overTLS.port,
                    tls: TLSClientConfiguration(serverName: "127.0.0.1", trustFile: certificate.file, trustsSystemAuthorities: false))
            }
        }
        if withBatches { phases.append { try self.httpBatched(tasks: $0) } }
        var measured = [[BenchResult]](repeating: [], count: phases.count)
        // Round -1 warms up, unmeasured: connections opened, statements prepared, caches filled.
        for round in -1..<rounds {
            // Spread the tasks: the rounds add up to `settings.tasks`.
            let tasks = round < 0
                ? min(settings.tasks, 1_000) : settings.tasks / rounds + (round < settings.tasks % rounds ? 1 : 0)
            // 1 2 2' 2t 3, then 3 2t 2' 2 1: a drift of the machine's speed shifts every row alike.
            for index in round % 2 == 0 ? Array(phases.indices) : phases.indices.reversed() {
                let result = try phases[index](tasks)
                if round >= 0 { measured[index].append(result) }
            }
        }
        let ceilings = measured[0]
        let ceiling = BenchResult.combining(ceilings)
        guard withHTTP else { return [ceiling] }
        func relative(_ rounds: [BenchResult], to references: [BenchResult], _ label: String) -> BenchResult {
            var result = BenchResult.combining(rounds)
            let reference = BenchResult.combining(references)
            result.ratio = (result.tasksPerSecond / max(reference.tasksPerSecond, 1e-9), "of \(label)")
            let perRound = zip(rounds, references).map { BenchReport.format($0.tasksPerSecond / max($1.tasksPerSecond, 1e-9), 2) }
            result.note = "\(rounds.count) rounds alternating with rows 1 to 3; each round's ratio to row \(label): "
                + perRound.joined(separator: ", ")
            return result
        }
        // measured[1], [2] and [3]: row 2, 2' and 2 over TLS (relative to row 2); measured[4]: row 3,
        // relative to row 2.
        var rows = [
            ceiling, relative(measured[1], to: ceilings, "1"), relative(measured[2], to: ceilings, "1"),
            relative(measured[3], to: measured[1], "2"),
        ]
        if withBatches { rows.append(relative(measured[4], to: measured[1], "2")) }
        return rows
    }

    // MARK: - Shared steps

    /// Inserts `count` waiting tasks in one statement, then refreshes the planner's statistics.
    func insertTasks(_ count: Int) throws {
        _ = try admin.query(
            """
            INSERT INTO tasks (type, user_id, app_id, input)
            SELECT $1, $2, $3, '{"input":"x"}' FROM generate_series(1, $4)
            """,
            [Self.type, Self.user, Self.app, count])
        try admin.execute("ANALYZE tasks")
    }

    /// Inserts `count` finished tasks (ended a day ago, inside the default retention, so the
    /// server's own cleanup leaves them) in one statement.
    func insertFinishedTasks(_ count: Int) throws {
        _ = try admin.query(
            """
            INSERT INTO tasks (type, user_id, app_id, input, output, status, progress, started_at, ended_at, last_updated, attempt)
            SELECT $1, $2, $3, '{"input":"x"}', '{"output":"x"}', \(TaskStatus.successful.rawValue), 1,
                   now() - interval '1 day', now() - interval '1 day', now() - interval '1 day', 1
            FROM generate_series(1, $4)
            """,
            [Self.type, Self.user, Self.app, count])
    }

    /// Empties the task table, its counters, the attempt history and the dependency edges
    /// (TRUNCATE fires no triggers, so those are emptied with it). The server's own statements lock these tables in different orders
    /// (a result: the tasks, then the count deltas; the fold: the deltas, then the counts), so
    /// the TRUNCATE may be chosen to break a deadlock; it is then run again.
    static func clean(_ connection: PostgresConnection) throws {
        var attempts = 0
        while true {
            attempts += 1
            do {
                try connection.execute("TRUNCATE tasks, task_counts, task_count_deltas, task_attempts, task_dependencies CASCADE")
                break
            } catch {
                guard error.sqlState == .deadlockDetected, attempts < 5 else { throw error }
            }
        }
        try connection.execute("VACUUM ANALYZE tasks, task_dependencies")
    }

    /// Runs the measured phase between two probes, then empties the table.
    func measure(
        _ scenario: String, expecting expected: Int, beforeEnd: () -> Void = {}, _ phase: () throws -> WorkerOutcome
    ) throws -> BenchResult {
        // Every phase starts right after a checkpoint: the first change to each page after one
        // writes the whole page to the WAL, and a checkpoint falling inside one phase but not
        // its reference would skew the ratio. Needs a superuser or pg_checkpoint; else skipped.
        try? admin.execute("CHECKPOINT")
        let before = BenchProbe.read(admin)
        let start = DispatchTime.now().uptimeNanoseconds
        let outcome = try phase()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1_000_000_000
        let after = BenchProbe.read(admin)
        beforeEnd()
        try Self.clean(admin)
        var transactions: Int64?
        if let first = before.transactionID, let last = after.transactionID { transactions = last - first }
        return BenchResult(
            scenario: scenario, expectedTasks: expected, tasks: outcome.processed, seconds: seconds,
            latencies: outcome.latencies, writeTransactions: transactions,
            processCPUSeconds: after.processCPU - before.processCPU, loadGeneratorCPUSeconds: outcome.cpuSeconds,
            databaseCPUSeconds: BenchProbe.databaseCPU(from: before.databaseCPU, to: after.databaseCPU),
            errors: outcome.errors, unavailable: nil)
    }
}
