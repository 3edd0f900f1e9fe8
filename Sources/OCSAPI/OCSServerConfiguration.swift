import TaskQueue

/// Settings of the OCS API layer. Every default is documented here and in the README.
public struct OCSServerConfiguration: Sendable {
    /// Reported by the status endpoint.
    public var serverVersion: String
    /// Seconds a claim is leased to its worker (`leaseExpiresAt`) unless it asks otherwise. Default 300.
    public var leaseSeconds: Int
    /// The longest lease a worker may ask for with `leaseSeconds`; longer asks are capped. Default 3600.
    public var maxLeaseSeconds: Int
    /// Leases for particular task types (e.g. long image generation), used instead of
    /// `leaseSeconds` unless the worker asks for a lease itself. Default none.
    public var leaseSecondsByType: [String: Int]
    /// How results reported with `retryable: true` are retried.
    public var retryPolicy: RetryPolicy
    /// Most items in one batched schedule or batched result call. Default 500.
    public var maxBatchItems: Int
    /// How long a verified credential is remembered; 0 disables the cache. Default 30 s.
    public var credentialCacheSeconds: Int
    /// Deepest nesting accepted in JSON bodies. Default 64.
    public var maxJSONDepth: Int
    /// Largest uploaded file in bytes; the upload routes accept bodies this large plus the
    /// multipart framing, larger ones get 413. Default 64 MiB.
    public var maxFileBytes: Int
    /// Tasks one user (or ExApp acting for nobody) may schedule per period; limit 0 turns it
    /// off. Default 100 per 60 s.
    public var scheduleRateLimit: ScheduleRateLimit
    /// Refuse requests with neither `OCS-APIRequest: true` nor a Bearer token (412), as
    /// Nextcloud does. Default on.
    public var csrfCheck: Bool
    /// Whether a `webhookUri` may name a loopback, private, link-local or otherwise non-public
    /// address. Default false: such URIs are refused on schedule (SSRF guard).
    public var webhookAllowPrivateTargets: Bool
    /// The longest long poll (`wait` on `next` / `next_batch`); longer asks are capped. Default 30 s.
    public var maxWaitSeconds: Int
    /// Whether `next` calls for the same types and single results that arrive while another
    /// is at the database go to it together, in one claim statement or one transaction (see
    /// `WorkerCallBatcher`). Default on; off, every call is its own statement and commit.
    public var batchWorkerCalls: Bool
    /// The most tasks one task may depend on (`dependsOn`). Default 1000.
    public var maxDependencies: Int
    /// How long a dashboard sign-in lasts. Default 12 hours.
    public var dashboardSessionSeconds: Int = 43_200
    /// Whether the dashboard's cookie is `Secure` (and `__Host-` prefixed): when the server
    /// speaks HTTPS, or an HTTPS proxy stands in front. Default false.
    public var secureCookies: Bool = false

    public init(
        serverVersion: String, leaseSeconds: Int = 300, maxLeaseSeconds: Int = 3600,
        leaseSecondsByType: [String: Int] = [:], retryPolicy: RetryPolicy = RetryPolicy(), maxBatchItems: Int = 500,
        credentialCacheSeconds: Int = 30, maxJSONDepth: Int = 64, maxFileBytes: Int = 64 << 20,
        scheduleRateLimit: ScheduleRateLimit = ScheduleRateLimit(limit: 100, periodSeconds: 60), csrfCheck: Bool = true, webhookAllowPrivateTargets: Bool = false,
        maxWaitSeconds: Int = 30, batchWorkerCalls: Bool = true, maxDependencies: Int = 1000
    ) {
        self.maxDependencies = maxDependencies
        self.maxWaitSeconds = maxWaitSeconds
        self.batchWorkerCalls = batchWorkerCalls
        self.serverVersion = serverVersion
        self.leaseSeconds = leaseSeconds
        self.maxLeaseSeconds = maxLeaseSeconds
        self.leaseSecondsByType = leaseSecondsByType
        self.retryPolicy = retryPolicy
        self.maxBatchItems = maxBatchItems
        self.credentialCacheSeconds = credentialCacheSeconds
        self.maxJSONDepth = maxJSONDepth
        self.maxFileBytes = maxFileBytes
        self.scheduleRateLimit = scheduleRateLimit
        self.csrfCheck = csrfCheck
        self.webhookAllowPrivateTargets = webhookAllowPrivateTargets
    }
}

extension OCSServerConfiguration {
    /// The part of these settings the task services apply.
    var rules: TaskRules {
        TaskRules(
            leaseSeconds: leaseSeconds, maxLeaseSeconds: maxLeaseSeconds, leaseSecondsByType: leaseSecondsByType,
            retryPolicy: retryPolicy, scheduleRateLimit: scheduleRateLimit, webhookAllowPrivateTargets: webhookAllowPrivateTargets,
            maxWaitSeconds: maxWaitSeconds, batchWorkerCalls: batchWorkerCalls, maxFileBytes: maxFileBytes,
            maxDependencies: maxDependencies)
    }
}
