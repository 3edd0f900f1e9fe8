/// The settings the services apply; one value, built once from the server's configuration.
public struct TaskRules: Sendable {
    /// Seconds a claim is leased unless the worker asks otherwise.
    public var leaseSeconds: Int
    /// The longest lease a worker may ask for; longer asks are capped.
    public var maxLeaseSeconds: Int
    /// Leases for particular task types, used unless the worker asks for one itself.
    public var leaseSecondsByType: [String: Int]
    /// How retryable failures are retried.
    public var retryPolicy: RetryPolicy
    /// Tasks one user (or ExApp acting for nobody) may schedule per period.
    public var scheduleRateLimit: ScheduleRateLimit
    /// Whether a webhook may name a non-public address.
    public var webhookAllowPrivateTargets: Bool
    /// The longest long poll; longer asks are capped.
    public var maxWaitSeconds: Int
    /// Whether single claims and results that arrive together share a statement or transaction.
    public var batchWorkerCalls: Bool
    /// Largest file accepted, in bytes.
    public var maxFileBytes: Int
    /// The most tasks one task may depend on.
    public var maxDependencies: Int

    public init(
        leaseSeconds: Int = 300, maxLeaseSeconds: Int = 3600, leaseSecondsByType: [String: Int] = [:],
        retryPolicy: RetryPolicy = RetryPolicy(),
        scheduleRateLimit: ScheduleRateLimit = ScheduleRateLimit(limit: 100, periodSeconds: 60),
        webhookAllowPrivateTargets: Bool = false, maxWaitSeconds: Int = 30, batchWorkerCalls: Bool = true,
        maxFileBytes: Int = 64 << 20, maxDependencies: Int = 1000
    ) {
        self.leaseSeconds = leaseSeconds
        self.maxLeaseSeconds = maxLeaseSeconds
        self.leaseSecondsByType = leaseSecondsByType
        self.retryPolicy = retryPolicy
        self.scheduleRateLimit = scheduleRateLimit
        self.webhookAllowPrivateTargets = webhookAllowPrivateTargets
        self.maxWaitSeconds = maxWaitSeconds
        self.batchWorkerCalls = batchWorkerCalls
        self.maxFileBytes = maxFileBytes
        self.maxDependencies = maxDependencies
    }
}

/// The services that own the task rules, sharing one store, catalog and call batcher. A front
/// end (the OCS API, the command line, an admin API) parses, calls these, and maps the answer.
public struct TaskServices: Sendable {
    public let scheduler: TaskScheduler
    public let claimer: TaskClaimer
    public let recorder: ResultRecorder
    public let files: TaskFiles
    public let inputResolver: InputResolver
    public let announcer: ReleaseAnnouncer

    public init(
        store: TaskStore, catalog: ProviderCatalog, rules: TaskRules, taskFinished: TaskFinishedListener = .none,
        metrics: TaskMetrics = .disabled, announcer: ReleaseAnnouncer? = nil
    ) {
        // One batcher for claims and results: a result and a claim that arrive together share a commit.
        let batcher = rules.batchWorkerCalls ? WorkerCallBatcher(store: store, retryPolicy: rules.retryPolicy) : nil
        inputResolver = InputResolver(store: store, catalog: catalog)
        self.announcer = announcer ?? ReleaseAnnouncer(store: store)
        scheduler = TaskScheduler(store: store, catalog: catalog, rules: rules, inputResolver: inputResolver)
        claimer = TaskClaimer(store: store, catalog: catalog, rules: rules, batcher: batcher, metrics: metrics)
        recorder = ResultRecorder(
            store: store, catalog: catalog, rules: rules, batcher: batcher, taskFinished: taskFinished, metrics: metrics,
            inputResolver: inputResolver, announcer: self.announcer)
        files = TaskFiles(store: store, rules: rules)
    }
}
