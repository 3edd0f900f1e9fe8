import Foundation
import Logging
import MicroHTTP
import TaskQueue

/// Everything a server process is configured with. Built once, by `resolve`, from command line
/// flags, then environment variables, then the defaults documented on each property.
public struct ServerConfiguration: Sendable, Equatable {
    /// Address to listen on. Default `127.0.0.1` (`TASKDISPATCH_HOST`, `--host`).
    public var host: String = "127.0.0.1"
    /// Port to listen on; 0 picks a free one. Default 8080 (`TASKDISPATCH_PORT`, `--port`).
    public var port: UInt16 = 8080
    /// libpq connection string or `postgres://` URL. When nil the server runs its own embedded
    /// cluster in `dataDirectory` (`DATABASE_URL`, `--database-url`).
    public var databaseURL: String?
    /// Folder of the embedded cluster. Default `/var/lib/taskdispatch` for root, else
    /// `$XDG_DATA_HOME/taskdispatch` or `~/.local/share/taskdispatch` (`TASKDISPATCH_DATA_DIR`, `--data-dir`).
    public var dataDirectory: String = ServerConfiguration.defaultDataDirectory()
    /// Threads that run request handlers, whichever connection a request came on; each may wait on
    /// the database. Default 16 (`TASKDISPATCH_THREADS`).
    public var httpThreads: Int = 16
    /// Database connections per server process. Default 16 (`TASKDISPATCH_DB_POOL_SIZE`).
    public var databasePoolSize: Int = 16
    /// Prepare each statement once per connection under a name. Off, statements run unnamed
    /// (still with bound parameters), as PgBouncer's transaction pooling before 1.21 needs.
    /// Default true (`TASKDISPATCH_PREPARED_STATEMENTS`, `--prepared-statements true|false`).
    public var preparedStatements: Bool = true
    /// Where the long poll listener's `LISTEN` connection goes: PostgreSQL itself when
    /// `databaseURL` is a transaction pooler, which cannot keep a `LISTEN`. Default nil, the
    /// database the server uses (`TASKDISPATCH_LISTEN_DATABASE_URL`, `--listen-database-url`).
    public var listenDatabaseURL: String?
    /// Largest accepted request body; larger ones get 413 before they are read. Default 1 MiB (`TASKDISPATCH_MAX_BODY_BYTES`).
    public var maxBodyBytes: Int = 1 << 20
    /// Idle connections (no byte sent or received) are closed after this many seconds. Default 30 (`TASKDISPATCH_CONNECTION_TIMEOUT`).
    public var connectionTimeoutSeconds: UInt32 = 30
    /// Each request (head and body) must arrive within the idle timeout plus this many seconds of
    /// the connection opening or of the previous response, so slow clients cannot hold
    /// connections; 0 turns it off. Default 30 (`TASKDISPATCH_REQUEST_TIMEOUT`, `--request-timeout`).
    public var requestTimeoutSeconds: UInt32 = 30
    /// A new connection must send its first request line and headers within this many seconds;
    /// 0 turns it off. Default 5 (`TASKDISPATCH_FIRST_REQUEST_TIMEOUT`, `--first-request-timeout`).
    public var firstRequestTimeoutSeconds: UInt32 = 5
    /// Most connections open at once; past it the oldest connection still waiting for a request
    /// is closed, else the new one is answered 503. Default 10,000 (`TASKDISPATCH_MAX_CONNECTIONS`).
    public var maxConnections: UInt32 = 10_000
    /// Most connections open at once from one client address; 0 for no limit (behind a reverse
    /// proxy). Default 1,000 (`TASKDISPATCH_MAX_CONNECTIONS_PER_IP`, `--max-connections-per-ip`).
    public var maxConnectionsPerIP: UInt32 = 1000
    /// With a certificate chain and key, the server speaks only HTTPS on its port. Loaded and
    /// checked (readable, key matches, not expired) when the configuration is resolved from
    /// `--tls-cert` / `TASKDISPATCH_TLS_CERT` and `--tls-key` / `TASKDISPATCH_TLS_KEY`. Default none.
    public var tls: TLSCredentials?
    /// Seconds a claimed task is leased to its worker. Default 300 (`TASKDISPATCH_LEASE_SECONDS`).
    public var leaseSeconds: Int = 300
    /// The longest lease a worker may ask for on `next`. Default 3600 (`TASKDISPATCH_MAX_LEASE_SECONDS`).
    public var maxLeaseSeconds: Int = 3600
    /// Leases per task type, instead of `leaseSeconds`: `TYPE=SECONDS,...`. Default none
    /// (`TASKDISPATCH_LEASE_BY_TYPE`, `--lease-by-type`).
    public var leaseSecondsByType: [String: Int] = [:]
    /// Claims a task may have before an expired lease fails it instead of requeueing it.
    /// Default 3 (`TASKDISPATCH_MAX_ATTEMPTS`).
    public var maxAttempts: Int = 3
    /// Backoff after a retryable failure of the first attempt, doubling per attempt, with
    /// jitter. Default 10 s (`TASKDISPATCH_RETRY_BASE_SECONDS`).
    public var retryBaseSeconds: Int = 10
    /// The longest retry backoff. Default 600 s (`TASKDISPATCH_RETRY_MAX_SECONDS`).
    public var retryMaxSeconds: Int = 600
    /// Finished tasks (with `allowCleanup`) are deleted this long after their last update;
    /// 0 keeps them. Default 2592000 s, 30 days (`TASKDISPATCH_RETENTION_SECONDS`).
    public var retentionSeconds: Int = 2_592_000
    /// How long an `Idempotency-Key` is remembered. Default 86400 s, one day
    /// (`TASKDISPATCH_IDEMPOTENCY_RETENTION_SECONDS`).
    public var idempotencyRetentionSeconds: Int = 86_400
    /// How often the status counters are folded, expired leases reaped and delayed tasks
    /// released; retention and idempotency cleanup run every 30th pass. Default 2 s.
    public var maintenanceIntervalSeconds: Double = 2
    /// The longest long poll (`wait` on `next` / `next_batch`); longer asks are capped.
    /// Default 30 s (`TASKDISPATCH_MAX_WAIT_SECONDS`, `--max-wait-seconds`).
    public var maxWaitSeconds: Int = 30
    /// While long polls wait, how often one statement checks for claimable tasks whose
    /// notification was lost. Default 5 s (`TASKDISPATCH_LONG_POLL_BACKSTOP_SECONDS`, `--long-poll-backstop-seconds`).
    public var longPollBackstopSeconds: Double = 5
    /// Threads that retry the claims of woken long polls. Default 2.
    public var longPollClaimThreads: Int = 2
    /// Largest uploaded file; the upload routes accept this plus the multipart framing, larger
    /// uploads get 413 before they are read. Default 64 MiB (`TASKDISPATCH_MAX_FILE_BYTES`, `--max-file-bytes`).
    public var maxFileBytes: Int = 64 << 20
    /// Uploads never named by a schedule are deleted after this many seconds. Default 86400 s,
    /// one day (`TASKDISPATCH_UNUSED_FILE_RETENTION_SECONDS`, `--unused-file-retention`).
    public var unusedFileRetentionSeconds: Int = 86_400
    /// Tasks one user (or an ExApp acting for nobody) may schedule per period, shared by all
    /// server processes; batches count each task; 0 turns the limit off. Default 100
    /// (`TASKDISPATCH_SCHEDULE_RATE_LIMIT`, `--schedule-rate-limit`). Nextcloud allows 20 per
    /// 120 s, which batch scheduling would outgrow at once.
    public var scheduleRateLimit: Int = 100
    /// The rate limit's window in seconds. Default 60 (`TASKDISPATCH_SCHEDULE_RATE_PERIOD`, `--schedule-rate-period`).
    public var scheduleRatePeriodSeconds: Int = 60
    /// Refuse requests without `OCS-APIRequest: true` and without a Bearer token with 412, as
    /// Nextcloud does. Default true (`TASKDISPATCH_CSRF_CHECK`, `--csrf-check true|false`).
    public var csrfCheck: Bool = true
    /// Send `next` calls for the same types and single results that arrive while others are at
    /// the database to it together: one claim statement, one transaction (group commit).
    /// Default true (`TASKDISPATCH_BATCH_WORKER_CALLS`, `--batch-worker-calls true|false`).
    public var batchWorkerCalls: Bool = true
    /// Seconds a webhook call may take (connect, send, answer) before it counts as failed.
    /// Default 10 (`TASKDISPATCH_WEBHOOK_TIMEOUT`, `--webhook-timeout`).
    public var webhookTimeoutSeconds: Double = 10
    /// Calls per webhook delivery before it is given up. Default 10 (`TASKDISPATCH_WEBHOOK_MAX_ATTEMPTS`).
    public var webhookMaxAttempts: Int = 10
    /// Backoff after the first failed webhook call, doubling per call, with jitter. Default 10 s
    /// (`TASKDISPATCH_WEBHOOK_RETRY_BASE_SECONDS`).
    public var webhookRetryBaseSeconds: Double = 10
    /// The longest webhook backoff. Default 3600 s (`TASKDISPATCH_WEBHOOK_RETRY_MAX_SECONDS`).
    public var webhookRetryMaxSeconds: Double = 3600
    /// How often the webhook sender looks for deliveries due (retries, and tasks finished by
    /// other server processes); deliveries for tasks this process finishes leave at once.
    /// Default 2 s (`TASKDISPATCH_WEBHOOK_POLL_SECONDS`).
    public var webhookPollSeconds: Double = 2
    /// Whether webhooks may call loopback, private, link-local and other non-public addresses.
    /// Default false (`TASKDISPATCH_WEBHOOK_ALLOW_PRIVATE_TARGETS=true`, `--webhook-allow-private-targets`).
    public var webhookAllowPrivateTargets: Bool = false
    /// When set, every webhook call is signed with HMAC-SHA256 under this secret. Never logged.
    /// Default none (`TASKDISPATCH_WEBHOOK_SECRET`, `--webhook-secret`).
    public var webhookSecret: String?
    /// A PEM file of certificate authorities trusted for https webhook receivers besides the
    /// system's. Default none (`TASKDISPATCH_WEBHOOK_CA_FILE`, `--webhook-ca-file`).
    public var webhookCAFile: String?
    /// Log level: trace, debug, info, notice, warning, error, critical. Default info (`TASKDISPATCH_LOG_LEVEL`).
    public var logLevel: Logger.Level = .info

    public init() {}

    /// How retryable failures are retried.
    public var retryPolicy: RetryPolicy {
        RetryPolicy(maxAttempts: maxAttempts, baseDelaySeconds: Double(retryBaseSeconds), maxDelaySeconds: Double(retryMaxSeconds))
    }

    /// How failed webhook calls are retried.
    public var webhookRetryPolicy: WebhookRetryPolicy {
        WebhookRetryPolicy(
            maxAttempts: webhookMaxAttempts, baseDelaySeconds: webhookRetryBaseSeconds,
            maxDelaySeconds: webhookRetryMaxSeconds)
    }

    /// Why a setting could not be read.
    public struct InvalidSetting: Error, CustomStringConvertible {
        public let description: String
    }

    /// Applies, for every setting, the flag if given, else the environment variable if set, else the default.
    public static func resolve(
        flags: [String: String], environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> ServerConfiguration {
        var configuration = ServerConfiguration()
        func value(_ flag: String, _ variable: String) -> String? {
            flags[flag] ?? environment[variable].flatMap { $0.isEmpty ? nil : $0 }
        }
        func parse<T>(_ flag: String, _ variable: String, _ convert: (String) -> T?) throws -> T? {
            guard let text = value(flag, variable) else { return nil }
            guard let parsed = convert(text) else {
                throw InvalidSetting(description: "invalid value '\(text)' for --\(flag) / \(variable)")
            }
            return parsed
        }
        func positive(_ text: String) -> Int? { Int(text).flatMap { $0 > 0 ? $0 : nil } }
        func positiveSeconds(_ text: String) -> Double? { Double(text).flatMap { $0 > 0 && $0.isFinite ? $0 : nil } }

        if let host = value("host", "TASKDISPATCH_HOST") { configuration.host = host }
        if let port = try parse("port", "TASKDISPATCH_PORT", { UInt16($0) }) { configuration.port = port }
        configuration.databaseURL = value("database-url", "DATABASE_URL")
        if let directory = value("data-dir", "TASKDISPATCH_DATA_DIR") { configuration.dataDirectory = directory }
        if let threads = try parse("threads", "TASKDISPATCH_THREADS", positive) { configuration.httpThreads = threads }
        if let size = try parse("db-pool-size", "TASKDISPATCH_DB_POOL_SIZE", positive) { configuration.databasePoolSize = size }
        if let prepared = try parse("prepared-statements", "TASKDISPATCH_PREPARED_STATEMENTS", parseBool) {
            configuration.preparedStatements = prepared
        }
        configuration.listenDatabaseURL = value("listen-database-url", "TASKDISPATCH_LISTEN_DATABASE_URL")
        if let bytes = try parse("max-body-bytes", "TASKDISPATCH_MAX_BODY_BYTES", positive) { configuration.maxBodyBytes = bytes }
        if let seconds = try parse("connection-timeout", "TASKDISPATCH_CONNECTION_TIMEOUT", { UInt32($0) }) {
            configuration.connectionTimeoutSeconds = seconds
        }
        if let seconds = try parse("request-timeout", "TASKDISPATCH_REQUEST_TIMEOUT", { UInt32($0) }) {
            configuration.requestTimeoutSeconds = seconds
        }
        if let seconds = try parse("first-request-timeout", "TASKDISPATCH_FIRST_REQUEST_TIMEOUT", { UInt32($0) }) {
            configuration.firstRequestTimeoutSeconds = seconds
        }
        if let limit = try parse("max-connections", "TASKDISPATCH_MAX_CONNECTIONS", { UInt32($0).flatMap { $0 > 0 ? $0 : nil } }) {
            configuration.maxConnections = limit
        }
        if let limit = try parse("max-connections-per-ip", "TASKDISPATCH_MAX_CONNECTIONS_PER_IP", { UInt32($0) }) {
            configuration.maxConnectionsPerIP = limit
        }
        switch (value("tls-cert", "TASKDISPATCH_TLS_CERT"), value("tls-key", "TASKDISPATCH_TLS_KEY")) {
        case (nil, nil): break
        case (let certificate?, let key?):
            do {
                configuration.tls = try TLSCredentials.load(certificateFile: certificate, keyFile: key)
            } catch {
                throw InvalidSetting(description: "\(error) (--tls-cert / TASKDISPATCH_TLS_CERT, --tls-key / TASKDISPATCH_TLS_KEY)")
            }
        default:
            throw InvalidSetting(description: "--tls-cert (TASKDISPATCH_TLS_CERT) and --tls-key (TASKDISPATCH_TLS_KEY) go together")
        }
        if let seconds = try parse("lease-seconds", "TASKDISPATCH_LEASE_SECONDS", positive) { configuration.leaseSeconds = seconds }
        if let seconds = try parse("max-lease-seconds", "TASKDISPATCH_MAX_LEASE_SECONDS", positive) {
            configuration.maxLeaseSeconds = seconds
        }
        if let leases = try parse("lease-by-type", "TASKDISPATCH_LEASE_BY_TYPE", parseLeasesByType) {
            configuration.leaseSecondsByType = leases
        }
        if let attempts = try parse("max-attempts", "TASKDISPATCH_MAX_ATTEMPTS", positive) { configuration.maxAttempts = attempts }
        if let seconds = try parse("retry-base-seconds", "TASKDISPATCH_RETRY_BASE_SECONDS", positive) {
            configuration.retryBaseSeconds = seconds
        }
        if let seconds = try parse("retry-max-seconds", "TASKDISPATCH_RETRY_MAX_SECONDS", positive) {
            configuration.retryMaxSeconds = seconds
        }
        if let seconds = try parse("retention", "TASKDISPATCH_RETENTION_SECONDS", { Int($0).flatMap { $0 >= 0 ? $0 : nil } }) {
            configuration.retentionSeconds = seconds
        }
        if let seconds = try parse("idempotency-retention", "TASKDISPATCH_IDEMPOTENCY_RETENTION_SECONDS", positive) {
            configuration.idempotencyRetentionSeconds = seconds
        }
        if let seconds = try parse("max-wait-seconds", "TASKDISPATCH_MAX_WAIT_SECONDS", { Int($0).flatMap { $0 >= 0 ? $0 : nil } }) {
            configuration.maxWaitSeconds = seconds
        }
        if let seconds = try parse("long-poll-backstop-seconds", "TASKDISPATCH_LONG_POLL_BACKSTOP_SECONDS", { Double($0).flatMap { $0 > 0 ? $0 : nil } }) {
            configuration.longPollBackstopSeconds = seconds
        }
        if let bytes = try parse("max-file-bytes", "TASKDISPATCH_MAX_FILE_BYTES", positive) { configuration.maxFileBytes = bytes }
        if let seconds = try parse("unused-file-retention", "TASKDISPATCH_UNUSED_FILE_RETENTION_SECONDS", positive) {
            configuration.unusedFileRetentionSeconds = seconds
        }
        if let limit = try parse("schedule-rate-limit", "TASKDISPATCH_SCHEDULE_RATE_LIMIT", { Int($0).flatMap { $0 >= 0 ? $0 : nil } }) {
            configuration.scheduleRateLimit = limit
        }
        if let seconds = try parse("schedule-rate-period", "TASKDISPATCH_SCHEDULE_RATE_PERIOD", positive) {
            configuration.scheduleRatePeriodSeconds = seconds
        }
        if let check = try parse("csrf-check", "TASKDISPATCH_CSRF_CHECK", parseBool) { configuration.csrfCheck = check }
        if let batch = try parse("batch-worker-calls", "TASKDISPATCH_BATCH_WORKER_CALLS", parseBool) {
            configuration.batchWorkerCalls = batch
        }
        if let seconds = try parse("webhook-timeout", "TASKDISPATCH_WEBHOOK_TIMEOUT", positiveSeconds) {
            configuration.webhookTimeoutSeconds = seconds
        }
        if let attempts = try parse("webhook-max-attempts", "TASKDISPATCH_WEBHOOK_MAX_ATTEMPTS", positive) {
            configuration.webhookMaxAttempts = attempts
        }
        if let seconds = try parse("webhook-retry-base-seconds", "TASKDISPATCH_WEBHOOK_RETRY_BASE_SECONDS", positiveSeconds) {
            configuration.webhookRetryBaseSeconds = seconds
        }
        if let seconds = try parse("webhook-retry-max-seconds", "TASKDISPATCH_WEBHOOK_RETRY_MAX_SECONDS", positiveSeconds) {
            configuration.webhookRetryMaxSeconds = seconds
        }
        if let seconds = try parse("webhook-poll-seconds", "TASKDISPATCH_WEBHOOK_POLL_SECONDS", positiveSeconds) {
            configuration.webhookPollSeconds = seconds
        }
        if let allowed = try parse(
            "webhook-allow-private-targets", "TASKDISPATCH_WEBHOOK_ALLOW_PRIVATE_TARGETS", parseBool)
        {
            configuration.webhookAllowPrivateTargets = allowed
        }
        // An empty secret would sign with an empty key: treat it as none.
        configuration.webhookSecret = value("webhook-secret", "TASKDISPATCH_WEBHOOK_SECRET").flatMap { $0.isEmpty ? nil : $0 }
        if let file = value("webhook-ca-file", "TASKDISPATCH_WEBHOOK_CA_FILE") {
            guard FileManager.default.isReadableFile(atPath: file) else {
                throw InvalidSetting(description: "cannot read --webhook-ca-file / TASKDISPATCH_WEBHOOK_CA_FILE \(file)")
            }
            configuration.webhookCAFile = file
        }
        if let level = try parse("log-level", "TASKDISPATCH_LOG_LEVEL", { Logger.Level(rawValue: $0.lowercased()) }) {
            configuration.logLevel = level
        }
        return configuration
    }

    /// `true`/`false` (also `1`/`0`, `yes`/`no`, `on`/`off`); nil for anything else.
    static func parseBool(_ text: String) -> Bool? {
        switch text.lowercased() {
        case "true", "1", "yes", "on": true
        case "false", "0", "no", "off": false
        default: nil
        }
    }

    /// `core:text2image=900,core:audio2text=600` → the map; nil if any entry is malformed.
    static func parseLeasesByType(_ text: String) -> [String: Int]? {
        var leases: [String: Int] = [:]
        for entry in text.split(separator: ",") {
            // Type ids contain colons, so split at the last `=`.
            guard let equals = entry.lastIndex(of: "="), let seconds = Int(entry[entry.index(after: equals)...]), seconds > 0
            else { return nil }
            let type = entry[..<equals].trimmingCharacters(in: .whitespaces)
            guard !type.isEmpty else { return nil }
            leases[type] = seconds
        }
        return leases.isEmpty ? nil : leases
    }

    static func defaultDataDirectory() -> String {
        if getuid() == 0 { return "/var/lib/taskdispatch" }
        let environment = ProcessInfo.processInfo.environment
        if let dataHome = environment["XDG_DATA_HOME"], !dataHome.isEmpty { return dataHome + "/taskdispatch" }
        return NSHomeDirectory() + "/.local/share/taskdispatch"
    }
}
