import Dispatch
import Foundation
import Postgres
import Synchronization
import TaskDispatchTesting
import TaskQueue
import Testing

/// Several server processes over one database through PgBouncer in transaction pooling mode,
/// as deployments run them: statements unnamed (`--prepared-statements false`), LISTEN on a
/// direct connection (`--listen-database-url`), and the processes' pools together larger than
/// the pooler's, so their transactions really share server sessions.
@Suite("Several processes through PgBouncer")
struct PgBouncerTests {
    static let processCount = 3
    static let taskCount = 3_000
    static let workerCount = 12
    /// Each process's `--db-pool-size`: 3 × 4 = 12 client connections onto …
    static let serverPoolSize = 4
    /// … PgBouncer's 4 server connections.
    static let bouncerPoolSize = 4
    static let wakeRounds = 6

    @Test("3 servers through PgBouncer (transaction mode, pools 3 × 4 over 4) drain 3,000 tasks exactly once and wake long polls across processes")
    func severalProcessesThroughTransactionPooling() throws {
        let started = ContinuousClock.now
        guard let fixture = try ServeProcessFixture.make(prefix: "pgbouncer") else { return }
        defer { fixture.removeFolder() }
        guard let bouncer = try PgBouncerProcess.start(for: fixture.connectionString, poolSize: Self.bouncerPoolSize) else { return }
        defer { bouncer.stop() }
        let admin = try Self.addAdmin(fixture.connectionString)

        // Everything goes through the pooler except LISTEN, which needs a session of its own. A
        // backstop of a minute leaves the wakeups below to the notifications alone.
        let pooled = ServeProcessFixture(
            executable: fixture.executable, connectionString: bouncer.connectionString, folder: fixture.folder,
            alice: fixture.alice, worker: fixture.worker)
        let (servers, ports) = try pooled.startServers(Self.processCount, options: [
            "--db-pool-size", String(Self.serverPoolSize), "--prepared-statements", "false",
            "--listen-database-url", fixture.connectionString, "--schedule-rate-limit", "0",
            "--long-poll-backstop-seconds", "60",
        ])
        defer { servers.forEach { $0.kill() } }
        let database = try PostgresConnection(connectionString: fixture.connectionString, logger: TestServer.silentLogger)
        defer { database.close() }
        let sessions = SessionCountSampler(connectionString: fixture.connectionString, ignoring: database.backendPID)
        defer { _ = try? sessions.stop() }

        // Task n is scheduled through process n % 3 (producer p schedules p, p+3, …); worker w
        // claims and reports through process w % 3.
        let drainStarted = ContinuousClock.now
        let scheduled = try Drain.schedule(Self.taskCount, producers: Self.processCount) { producer in
            APIClient(port: ports[producer % Self.processCount], caller: fixture.alice)
        }
        let workers = Drain.runWorkers(Self.workerCount) { index in
            APIClient(port: ports[index % Self.processCount], caller: fixture.worker)
        }
        let drainSeconds = Self.seconds(since: drainStarted)
        try Drain.verifyExactlyOnce(label: "exactly-once (3 processes via PgBouncer)", scheduled: scheduled, workers: workers, database: database)
        let claimsPerProcess = (0..<Self.processCount).map { process in
            workers.compactMap { $0 }.filter { $0.index % Self.processCount == process }.reduce(0) { $0 + $1.claimed.count }
        }
        #expect(claimsPerProcess.allSatisfy { $0 > 0 }, "each process should have handed out tasks: \(claimsPerProcess)")

        // A worker parked on one process is woken by a task scheduled through the next one.
        var latencies: [Double] = []
        for round in 0..<Self.wakeRounds {
            let (parkedOn, scheduledOn) = (round % Self.processCount, (round + 1) % Self.processCount)
            let poll = LongPoll(port: ports[parkedOn], caller: fixture.worker, wait: 10)
            let status = APIClient(port: ports[parkedOn], caller: admin)
            try #require(
                EndpointSupport.waitUntil(seconds: 10) {
                    try status.call("GET", "admin/status").data?["waitingLongPolls"]?.int64Value == 1
                }, "round \(round): the long poll did not park on process \(parkedOn)")
            let id = try APIClient(port: ports[scheduledOn], caller: fixture.alice).schedule("wake \(round)")
            let scheduledAt = ContinuousClock.now
            let answer = try poll.response()
            latencies.append(Self.seconds(since: scheduledAt) * 1000)
            #expect(answer.status == 200 && answer.taskID == id, "round \(round): \(answer.status) \(answer.bodyText)")
        }
        let slowest = latencies.max() ?? .infinity
        #expect(slowest < 1000, "wake latencies (ms): \(latencies)")

        // The pooler bounded the database's sessions: its pool plus one LISTEN per process.
        let listening = try database.query(
            """
            SELECT count(*) AS n FROM pg_stat_activity
            WHERE datname = current_database() AND backend_type = 'client backend' AND query LIKE 'LISTEN %'
            """)[0].int("n")
        let sampled = try sessions.stop()
        #expect(listening == Self.processCount, "LISTEN sessions")
        #expect(sampled.highest <= Self.bouncerPoolSize + Self.processCount, "highest session count \(sampled.highest)")

        for server in servers {
            #expect(!server.hasExited, "\(server.name) ended during the test:\n\(server.outputTail)")
            let exit = server.terminate(timeoutSeconds: 20)
            #expect(exit == .exited(0), "\(server.name) \(exit) after SIGTERM:\n\(server.outputTail)")
        }
        print(
            "pgbouncer: processes=\(Self.processCount) pools=\(Self.processCount)x\(Self.serverPoolSize) over \(Self.bouncerPoolSize) "
                + "claims per process=\(claimsPerProcess) drain=\(String(format: "%.1f", drainSeconds)) s "
                + "highest sessions=\(sampled.highest) (\(sampled.samples) samples) listening=\(listening ?? -1) "
                + "wake ms=\(latencies.map { String(format: "%.1f", $0) }) total=\(String(format: "%.1f", Self.seconds(since: started))) s")
    }

    @Test("migrations through PgBouncer while other clients keep its sessions busy leave no advisory lock behind")
    func migrationsLeaveNoLockInPooledSessions() throws {
        let direct = try TestDatabase.create(prefix: "pgbouncer_migrate")
        let setup = try PostgresConnection(connectionString: direct, logger: TestServer.silentLogger)
        defer { setup.close() }
        // A lock left behind in a pooled session would make the next migration wait for it
        // forever; the lock timeout turns that wait into an error.
        let database = try #require(try setup.query("SELECT current_database() AS name")[0].string("name"))
        try setup.execute("ALTER DATABASE \"\(database)\" SET lock_timeout = '5s'")
        guard let bouncer = try PgBouncerProcess.start(for: direct, poolSize: Self.bouncerPoolSize) else { return }
        defer { bouncer.stop() }

        // Busy clients, so that one migrator's consecutive transactions land on different server sessions.
        let pooled = bouncer.connectionString
        let migrating = Atomic<Bool>(true)
        let failures = Mutex<[String]>([])
        onThreads(Self.bouncerPoolSize) { index in
            defer { if index == 0 { migrating.store(false, ordering: .releasing) } }
            do {
                let connection = try PostgresConnection(
                    connectionString: pooled, usesPreparedStatements: false, logger: TestServer.silentLogger)
                defer { connection.close() }
                guard index == 0 else {
                    while migrating.load(ordering: .acquiring) { _ = try connection.query("SELECT pg_sleep(0.001)") }
                    return
                }
                for _ in 0..<20 { try SchemaMigrator(logger: TestServer.silentLogger).migrate(connection) }
            } catch {
                failures.withLock { $0.append("client \(index): \(error)") }
            }
        }
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 })")
        let locks = try setup.query(
            "SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = $1)",
            [database])[0].int("n")
        #expect(locks == 0, "advisory locks left in pooled sessions")
    }

    /// An administrator, to read each process's `waitingLongPolls` from `admin/status`.
    private static func addAdmin(_ connectionString: String) throws -> Caller {
        let pool = PostgresConnectionPool(
            configuration: PostgresPoolConfiguration(connectionString: connectionString, maxConnections: 1),
            logger: TestServer.silentLogger)
        defer { pool.close() }
        return .user("ops", try AccountStore(pool: pool).addUser(name: "ops", isAdmin: true).appPassword)
    }

    private static func seconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }
}

/// Counts a database's client sessions, other than its own and the one it is told to ignore,
/// every 20 ms on a thread of its own, and keeps the highest count.
final class SessionCountSampler: Sendable {
    private struct Counts { var highest = 0, samples = 0, failure: String? }
    private let counts = Mutex(Counts())
    private let stopping = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)

    init(connectionString: String, ignoring ignoredPID: Int32) {
        Thread { [self] in
            defer { finished.signal() }
            do {
                let connection = try PostgresConnection(connectionString: connectionString, logger: TestServer.silentLogger)
                defer { connection.close() }
                while !stopping.load(ordering: .acquiring) {
                    let count = try connection.query(
                        """
                        SELECT count(*) AS n FROM pg_stat_activity
                        WHERE datname = current_database() AND backend_type = 'client backend'
                          AND pid <> pg_backend_pid() AND pid <> $1
                        """, [ignoredPID])[0].int("n") ?? 0
                    counts.withLock { $0.highest = max($0.highest, count); $0.samples += 1 }
                    usleep(20_000)
                }
            } catch {
                counts.withLock { $0.failure = "\(error)" }
            }
        }.start()
    }

    /// Ends sampling (a second call returns at once); the highest count seen and the number of samples.
    func stop() throws -> (highest: Int, samples: Int) {
        stopping.store(true, ordering: .releasing)
        finished.wait()
        finished.signal()
        let counts = counts.withLock { $0 }
        if let failure = counts.failure { throw TestFailure("sampling sessions failed: \(failure)") }
        return (counts.highest, counts.samples)
    }
}
