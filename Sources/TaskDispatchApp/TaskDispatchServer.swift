import CoreMetrics
import Logging
import MicroHTTP
import OCSAPI
import Postgres
import Synchronization
import TaskQueue

/// One server process's parts, wired together: the database pool, the schema, the stores, the
/// OCS handler on the HTTP server, the long poll waiters with their notification listener, the
/// maintenance loop, the webhook sender and the provider trigger sender. Used by `serve` and by the tests.
public final class TaskDispatchServer: Sendable {
    public let configuration: ServerConfiguration
    public let pool: PostgresConnectionPool
    public let tasks: TaskStore
    public let accounts: AccountStore
    /// Providers and task types, with this process's snapshot of them.
    public let catalog: ProviderCatalog
    private let http: HTTPServer
    private let maintenance: MaintenanceLoop
    private let longPolls: LongPollWaiters
    private let readyListener: ReadyTaskListener
    private let stopped = Atomic<Bool>(false)
    private let webhookSender: WebhookSender
    private let triggerSender: ProviderTriggerSender
    private let logger: Logger
    /// The metrics exporter; nil with metrics off.
    private let exporter: PrometheusExporter?

    /// Prepares the parts; nothing runs until `start`.
    public init(configuration: ServerConfiguration, connectionString: String, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        let exporter = configuration.metrics ? PrometheusExporter() : nil
        self.exporter = exporter
        let metricsFactory: any MetricsFactory = exporter ?? NOOPMetricsHandler.instance
        let taskMetrics = exporter.map { TaskMetrics(factory: $0) } ?? .disabled
        var poolConfiguration = PostgresPoolConfiguration(
            connectionString: connectionString, maxConnections: configuration.databasePoolSize,
            usesPreparedStatements: configuration.preparedStatements)
        if let exporter {
            let poolWait = CoreMetrics.Timer(label: MetricFamilies.poolWait, factory: exporter)
            poolConfiguration.checkoutWaitObserver = { seconds in poolWait.recordNanoseconds(Int64(seconds * 1e9)) }
        }
        pool = PostgresConnectionPool(configuration: poolConfiguration, logger: logger)
        tasks = TaskStore(pool: pool)
        accounts = AccountStore(pool: pool)
        longPolls = LongPollWaiters(claimThreads: configuration.longPollClaimThreads, logger: logger)
        catalog = ProviderCatalog(store: ProviderStore(pool: pool), logger: logger)
        let inputResolver = InputResolver(store: tasks, catalog: catalog)
        // One per process: its pause after a notice holds for every announcement of the process.
        let announcer = ReleaseAnnouncer(store: tasks)
        let resolveInputs: @Sendable () -> Void = { [logger] in
            do {
                try inputResolver.resolvePending()
            } catch {
                logger.warning("preparing the inputs of released tasks failed", metadata: ["error": "\(error)"])
            }
        }
        let triggerSender = ProviderTriggerSender(
            store: ProviderTriggerStore(pool: pool), triggeredApps: tasks.triggeredApps, catalog: catalog, longPolls: longPolls,
            settings: ProviderTriggerSettings(
                timeoutSeconds: configuration.triggerTimeoutSeconds, maxAttempts: configuration.triggerMaxAttempts,
                recheckSeconds: configuration.triggerRecheckSeconds, secretKeyFile: configuration.resolvedSecretKeyFile),
            metrics: metricsFactory, logger: logger)
        self.triggerSender = triggerSender
        // LISTEN needs a session of its own, which a transaction pooler does not keep.
        readyListener = ReadyTaskListener(
            connectionString: configuration.listenDatabaseURL ?? connectionString, tasks: tasks, waiters: longPolls,
            backstopSeconds: configuration.longPollBackstopSeconds, resolveInputs: resolveInputs,
            tasksBecameClaimable: { triggerSender.tasksBecameClaimable(types: $0) }, logger: logger)
        let sender = WebhookSender(
            store: WebhookDeliveryStore(pool: pool),
            settings: WebhookSenderSettings(
                timeoutSeconds: configuration.webhookTimeoutSeconds, retryPolicy: configuration.webhookRetryPolicy,
                pollSeconds: configuration.webhookPollSeconds,
                allowPrivateTargets: configuration.webhookAllowPrivateTargets, secret: configuration.webhookSecret,
                trustFile: configuration.webhookCAFile),
            metrics: metricsFactory, logger: logger)
        webhookSender = sender
        var ocsConfiguration = OCSServerConfiguration(
                serverVersion: TaskDispatchVersion.current, leaseSeconds: configuration.leaseSeconds,
                maxLeaseSeconds: configuration.maxLeaseSeconds, leaseSecondsByType: configuration.leaseSecondsByType,
                retryPolicy: configuration.retryPolicy, maxFileBytes: configuration.maxFileBytes,
                scheduleRateLimit: ScheduleRateLimit(
                    limit: configuration.scheduleRateLimit, periodSeconds: configuration.scheduleRatePeriodSeconds),
                csrfCheck: configuration.csrfCheck,
                webhookAllowPrivateTargets: configuration.webhookAllowPrivateTargets,
                maxWaitSeconds: configuration.maxWaitSeconds, batchWorkerCalls: configuration.batchWorkerCalls,
                maxDependencies: configuration.maxDependencies)
        ocsConfiguration.dashboardSessionSeconds = configuration.dashboardSessionSeconds
        ocsConfiguration.secureCookies = configuration.tls != nil || configuration.dashboardSecureCookie
        let handler = OCSServer(
            tasks: tasks, accounts: accounts, catalog: catalog, configuration: ocsConfiguration,
            taskFinished: TaskFinishedListener { _ in sender.nudge() },
            longPolls: longPolls,
            readiness: ServiceReadiness(store: tasks, isListening: { [longPolls] in longPolls.isListening }),
            metrics: exporter.map { exporter in
                OCSMetricsConfiguration(
                    factory: exporter, exposition: exporter, allowedClients: configuration.metricsAllowedClients)
            },
            taskMetrics: taskMetrics, releaseAnnouncer: announcer, logger: logger)
        http = HTTPServer(
            configuration: HTTPServerConfiguration(
                host: configuration.host, port: configuration.port, handlerThreads: configuration.httpThreads,
                connectionTimeoutSeconds: configuration.connectionTimeoutSeconds,
                requestTimeoutSeconds: configuration.requestTimeoutSeconds, maxBodyBytes: configuration.maxBodyBytes,
                connectionLimit: configuration.maxConnections, perAddressConnectionLimit: configuration.maxConnectionsPerIP,
                firstRequestHeadTimeoutSeconds: configuration.firstRequestTimeoutSeconds, tls: configuration.tls),
            handler: handler, logger: logger)
        maintenance = MaintenanceLoop(
            tasks: tasks, intervalSeconds: configuration.maintenanceIntervalSeconds,
            maxAttempts: configuration.maxAttempts,
            idempotencyRetentionSeconds: configuration.idempotencyRetentionSeconds,
            retentionSeconds: configuration.retentionSeconds,
            historyRetentionSeconds: configuration.historyRetentionSeconds, sessions: accounts.dashboardSessions,
            unusedFileRetentionSeconds: configuration.unusedFileRetentionSeconds,
            rateLimitPeriodSeconds: configuration.scheduleRatePeriodSeconds, tasksFailed: { sender.nudge() },
            leasesExpired: { taskMetrics.leasesExpired($0) },
            longPollsWaiting: { [longPolls] in longPolls.waitingByApp }, resolveInputs: resolveInputs,
            announceReleases: { announcer.announce(endOf: $0) }, logger: logger)
        exporter?.setScrape { [tasks, longPolls, pool, logger] in
            Self.scrapedGauges(tasks: tasks, longPolls: longPolls, pool: pool, logger: logger)
        }
    }

    /// What `/metrics` reads from the database and this process at each scrape.
    private static func scrapedGauges(
        tasks: TaskStore, longPolls: LongPollWaiters, pool: PostgresConnectionPool, logger: Logger
    ) -> [PrometheusExporter.Sample] {
        var samples: [PrometheusExporter.Sample] = [
            .init(MetricFamilies.longPollsWaiting, Double(longPolls.waitingCount)),
        ]
        let connections = pool.statistics
        samples.append(.init(MetricFamilies.poolConnections, [("state", "idle")], Double(connections.idle)))
        samples.append(.init(MetricFamilies.poolConnections, [("state", "in_use")], Double(connections.borrowed)))
        do {
            let statistics = try tasks.statistics()
            for (type, counts) in statistics.counts {
                for (status, count) in counts {
                    samples.append(.init(MetricFamilies.tasks, [("type", type), ("status", status.adminName)], Double(count)))
                }
            }
            for (type, age) in statistics.oldestScheduledAgeByType {
                samples.append(.init(MetricFamilies.oldestScheduledAge, [("type", type)], Double(age)))
            }
            samples.append(.init(MetricFamilies.webhooksPending, Double(try tasks.webhookDeliveries.counts().pending)))
        } catch {
            // The process's own families still answer; the database's are left out of this scrape.
            logger.warning("metrics could not read the database", metadata: ["error": "\(error)"])
        }
        return samples
    }

    /// Migrates the schema (safe with several servers starting at once), then starts serving.
    public func start() throws {
        _ = try pool.withConnection { connection in
            try SchemaMigrator(logger: logger).migrate(connection)
        }
        longPolls.start()
        try http.start()
        readyListener.start()
        maintenance.start()
        webhookSender.start()
        triggerSender.start()
        logger.info("serving", metadata: ["address": "\(configuration.host):\(http.boundPort)"])
    }

    /// The port the server listens on (the real one when configured with 0).
    public var port: UInt16 { http.boundPort }

    /// Long polls waiting in this process (parked or claiming).
    public var waitingLongPolls: Int { longPolls.waitingCount }

    /// Answers every waiting long poll with its empty answer, stops accepting, lets in-flight
    /// requests finish, then closes the database pool. Later calls do nothing.
    public func stop() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        longPolls.close()
        http.stop()
        readyListener.stop()
        maintenance.stop()
        webhookSender.stop()
        triggerSender.stop()
        pool.close()
    }
}
