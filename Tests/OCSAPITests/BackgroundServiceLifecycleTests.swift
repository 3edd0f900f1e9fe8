import BackgroundThreads
import Dispatch
import Foundation
import Logging
import OCSAPI
import Postgres
import TaskDispatchTesting
import TaskQueue
import Testing
@testable import TaskDispatchApp

/// The server's background threads follow one lifecycle: nothing runs before `start`, a stop
/// before the start returns at once (and the start then does nothing), a second start adds no
/// thread, a second stop returns at once.
@Suite("Background service lifecycle")
struct BackgroundServiceLifecycleTests {
    private static let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

    /// A pool on a database with the schema, or, for services never started, on none.
    private static func database(migrated: Bool) throws -> (PostgresConnectionPool, String) {
        let connectionString = migrated ? try TestDatabase.create(prefix: "lifecycle") : "host=127.0.0.1 port=1"
        let pool = PostgresConnectionPool(
            configuration: PostgresPoolConfiguration(connectionString: connectionString), logger: logger)
        if migrated {
            try pool.withConnection { try SchemaMigrator(logger: logger).migrate($0) }
        }
        return (pool, connectionString)
    }

    private static func maintenance(_ pool: PostgresConnectionPool) -> MaintenanceLoop {
        MaintenanceLoop(
            tasks: TaskStore(pool: pool), intervalSeconds: 0.05, maxAttempts: 3, idempotencyRetentionSeconds: 60,
            retentionSeconds: 60, unusedFileRetentionSeconds: 60, rateLimitPeriodSeconds: 60, logger: logger)
    }

    private static func webhookSender(_ pool: PostgresConnectionPool) -> WebhookSender {
        WebhookSender(
            store: WebhookDeliveryStore(pool: pool),
            settings: WebhookSenderSettings(
                timeoutSeconds: 1, retryPolicy: WebhookRetryPolicy(), pollSeconds: 60, allowPrivateTargets: true),
            logger: logger)
    }

    private static func readyListener(
        _ pool: PostgresConnectionPool, _ connectionString: String, _ waiters: LongPollWaiters
    ) -> ReadyTaskListener {
        ReadyTaskListener(
            connectionString: connectionString, tasks: TaskStore(pool: pool), waiters: waiters, backstopSeconds: 60, logger: logger)
    }

    @Test("maintenance loop: stop without start returns at once; start then does nothing")
    func maintenanceStopBeforeStart() throws {
        let loop = Self.maintenance(try Self.database(migrated: false).0)
        #expect(ThreadProbe.returns(within: 2) { loop.stop() })
        loop.start()
        #expect(loop.thread.state == .stopped)
    }

    @Test("maintenance loop: start twice, stop twice")
    func maintenanceStartTwice() throws {
        let loop = Self.maintenance(try Self.database(migrated: true).0)
        #expect(loop.thread.state == .idle)
        loop.start()
        loop.start()
        #expect(loop.thread.state == .running)
        // Some passes against the database.
        usleep(200_000)
        #expect(ThreadProbe.returns(within: 5) { loop.stop() })
        #expect(loop.thread.state == .stopped)
        #expect(ThreadProbe.returns(within: 1) { loop.stop() })
    }

    @Test("ready task listener: stop without start returns at once; start then does nothing")
    func listenerStopBeforeStart() throws {
        let (pool, connectionString) = try Self.database(migrated: false)
        let waiters = LongPollWaiters(claimThreads: 1, logger: Self.logger)
        defer { waiters.close() }
        let listener = Self.readyListener(pool, connectionString, waiters)
        #expect(ThreadProbe.returns(within: 2) { listener.stop() })
        listener.start()
        #expect(listener.thread.state == .stopped)
    }

    @Test("ready task listener: start twice, stop twice; the stop closes the listening connection")
    func listenerStartTwice() throws {
        let (pool, connectionString) = try Self.database(migrated: true)
        let waiters = LongPollWaiters(claimThreads: 1, logger: Self.logger)
        defer { waiters.close() }
        let listener = Self.readyListener(pool, connectionString, waiters)
        listener.start()
        listener.start()
        #expect(listener.thread.state == .running)
        #expect(try Self.listeningSessions(connectionString, becoming: 1) == 1, "one thread, one LISTEN connection")
        #expect(ThreadProbe.returns(within: 5) { listener.stop() })
        #expect(try Self.listeningSessions(connectionString, becoming: 0) == 0)
        #expect(ThreadProbe.returns(within: 1) { listener.stop() })
    }

    @Test("webhook sender: stop without start returns at once; start then does nothing")
    func senderStopBeforeStart() throws {
        let sender = Self.webhookSender(try Self.database(migrated: false).0)
        #expect(ThreadProbe.returns(within: 2) { sender.stop() })
        sender.start()
        sender.nudge()
        #expect(sender.thread.state == .stopped)
    }

    @Test("webhook sender: start twice, stop twice; a nudge before the start is harmless")
    func senderStartTwice() throws {
        let sender = Self.webhookSender(try Self.database(migrated: true).0)
        sender.nudge()
        sender.start()
        sender.start()
        sender.nudge()
        #expect(sender.thread.state == .running)
        #expect(ThreadProbe.returns(within: 5) { sender.stop() })
        #expect(sender.thread.state == .stopped)
        #expect(ThreadProbe.returns(within: 1) { sender.stop() })
    }

    @Test("long-poll waiters: close without start returns at once; start twice, close twice")
    func longPollWaitersLifecycle() {
        let never = LongPollWaiters(claimThreads: 2, logger: Self.logger)
        #expect(ThreadProbe.returns(within: 2) { never.close() })
        never.start()
        #expect(never.waitingCount == 0)

        let waiters = LongPollWaiters(claimThreads: 2, logger: Self.logger)
        waiters.start()
        waiters.start()
        #expect(waiters.wake(["a": 1]) == 0, "nobody waits")
        #expect(ThreadProbe.returns(within: 5) { waiters.close() })
        #expect(ThreadProbe.returns(within: 1) { waiters.close() })
    }

    @Test("a server never started stops at once")
    func serverStopBeforeStart() throws {
        var configuration = ServerConfiguration()
        configuration.port = 0
        let server = TaskDispatchServer(configuration: configuration, connectionString: "host=127.0.0.1 port=1", logger: Self.logger)
        #expect(ThreadProbe.returns(within: 5) { server.stop() })
    }

    /// Sessions of `connectionString`'s database that listen for ready tasks, once they are
    /// `expected` (or after 5 s), and still after a further 0.3 s.
    private static func listeningSessions(_ connectionString: String, becoming expected: Int) throws -> Int {
        let connection = try PostgresConnection(connectionString: connectionString, logger: logger)
        defer { connection.close() }
        func count() throws -> Int {
            try connection.query(
                """
                SELECT count(*) AS n FROM pg_stat_activity
                WHERE datname = current_database() AND backend_type = 'client backend' AND query LIKE 'LISTEN %'
                """)[0].int("n") ?? -1
        }
        for _ in 0..<50 {
            if try count() == expected { break }
            usleep(100_000)
        }
        usleep(300_000)
        return try count()
    }
}
