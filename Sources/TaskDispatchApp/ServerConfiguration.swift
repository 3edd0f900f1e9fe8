import Foundation
import Logging
import MicroHTTP
import OCSAPI
import TaskQueue

/// Everything a server process is configured with. Built once, by `resolve`, from command line
/// flags, then environment variables, then these defaults; ``ServerSettings`` names the flag,
/// variable, accepted values and help of each setting.
public struct ServerConfiguration: Sendable, Equatable {
    /// Address to listen on. Default `127.0.0.1`.
    public var host: String = "127.0.0.1"
    /// Port to listen on; 0 picks a free one. Default 8080.
    public var port: UInt16 = 8080
    /// libpq connection string or `postgres://` URL. When nil the server runs its own embedded
    /// cluster in `dataDirectory`.
    public var databaseURL: String?
    /// Folder of the embedded cluster. Default `/var/lib/taskdispatch` for root, else
    /// `$XDG_DATA_HOME/taskdispatch` or `~/.local/share/taskdispatch`.
    public var dataDirectory: String = ServerConfiguration.defaultDataDirectory()
    /// Threads that run request handlers, whichever connection a request came on; each may wait on
    /// the database. Default 16.
    public var httpThreads: Int = 16
    /// Database connections per server process. Default 16.
    public var databasePoolSize: Int = 16
    /// Prepare each statement once per connection under a name. Off, statements run unnamed
    /// (still with bound parameters), as PgBouncer's transaction pooling before 1.21 needs.
    /// Default true.
    public var preparedStatements: Bool = true
    /// Where the long poll listener's `LISTEN` connection goes: PostgreSQL itself when
    /// `databaseURL` is a transaction pooler, which cannot keep a `LISTEN`. Default nil, the
    /// database the server uses.
    public var listenDatabaseURL: String?
    /// Largest accepted request body; larger ones get 413 before they are read. Default 1 MiB.
    public var maxBodyBytes: Int = 1 << 20
    /// Idle connections (no byte sent or received) are closed after this many seconds. Default 30.
    public var connectionTimeoutSeconds: UInt32 = 30
    /// Each request (head and body) must arrive within the idle timeout plus this many seconds of
    /// the connection opening or of the previous response, so slow clients cannot hold
    /// connections; 0 turns it off. Default 30.
    public var requestTimeoutSeconds: UInt32 = 30
    /// A new connection must send its first request line and headers within this many seconds;
    /// 0 turns it off. Default 5.
    public var firstRequestTimeoutSeconds: UInt32 = 5
    /// Most connections open at once; past it the oldest connection still waiting for a request
    /// is closed, else the new one is answered 503. Default 10,000.
    public var maxConnections: UInt32 = 10_000
    /// Most connections open at once from one client address; 0 for no limit (behind a reverse
    /// proxy). Default 1,000.
    public var maxConnectionsPerIP: UInt32 = 1000
    /// With a certificate chain and key, the server speaks only HTTPS on its port. Loaded and
    /// checked (readable, key matches, not expired) when the configuration is resolved from
    /// the TLS settings. Default none.
    public var tls: TLSCredentials?
    /// Seconds a claimed task is leased to its worker. Default 300.
    public var leaseSeconds: Int = 300
    /// The longest lease a worker may ask for on `next`. Default 3600.
    public var maxLeaseSeconds: Int = 3600
    /// Leases per task type, instead of `leaseSeconds`: `TYPE=SECONDS,...`. Default none
    ///.
    public var leaseSecondsByType: [String: Int] = [:]
    /// Claims a task may have before an expired lease fails it instead of requeueing it.
    /// Default 3.
    public var maxAttempts: Int = 3
    /// Backoff after a retryable failure of the first attempt, doubling per attempt, with
    /// jitter. Default 10 s.
    public var retryBaseSeconds: Int = 10
    /// The longest retry backoff. Default 600 s.
    public var retryMaxSeconds: Int = 600
    /// Finished tasks (with `allowCleanup`) are deleted this long after their last update;
    /// 0 keeps them. Default 2592000 s, 30 days.
    public var retentionSeconds: Int = 2_592_000
    /// The dashboard's per-minute history (`admin/history`) is kept this long. Default 604800
    /// s, 7 days.
    public var historyRetentionSeconds: Int = 604_800
    /// How long a dashboard sign-in lasts before the administrator signs in again. Default
    /// 43200 s, 12 hours.
    public var dashboardSessionSeconds: Int = 43_200
    /// Marks the dashboard's session cookie `Secure` (with the `__Host-` prefix) even though the
    /// server speaks plain HTTP: for an HTTPS reverse proxy in front. Always on with `tls`.
    /// Default false.
    public var dashboardSecureCookie: Bool = false
    /// How long an `Idempotency-Key` is remembered. Default 86400 s, one day
    ///.
    public var idempotencyRetentionSeconds: Int = 86_400
    /// How often the status counters are folded, expired leases reaped and delayed tasks
    /// released; retention and idempotency cleanup run every 30th pass. Default 2 s.
    public var maintenanceIntervalSeconds: Double = 2
    /// The longest long poll (`wait` on `next` / `next_batch`); longer asks are capped.
    /// Default 30 s.
    public var maxWaitSeconds: Int = 30
    /// While long polls wait, how often one statement checks for claimable tasks whose
    /// notification was lost. Default 5 s.
    public var longPollBackstopSeconds: Double = 5
    /// Threads that retry the claims of woken long polls. Default 2.
    public var longPollClaimThreads: Int = 2
    /// Largest uploaded file; the upload routes accept this plus the multipart framing, larger
    /// uploads get 413 before they are read. Default 64 MiB.
    public var maxFileBytes: Int = 64 << 20
    /// The most tasks one task may depend on (`dependsOn`). Default 1000.
    public var maxDependencies: Int = 1000
    /// Uploads never named by a schedule are deleted after this many seconds. Default 86400 s,
    /// one day.
    public var unusedFileRetentionSeconds: Int = 86_400
    /// Tasks one user (or an ExApp acting for nobody) may schedule per period, shared by all
    /// server processes; batches count each task; 0 turns the limit off. Default 100
    ///. Nextcloud allows 20 per
    /// 120 s, which batch scheduling would outgrow at once.
    public var scheduleRateLimit: Int = 100
    /// The rate limit's window in seconds. Default 60.
    public var scheduleRatePeriodSeconds: Int = 60
    /// Refuse requests without `OCS-APIRequest: true` and without a Bearer token with 412, as
    /// Nextcloud does. Default true.
    public var csrfCheck: Bool = true
    /// Send `next` calls for the same types and single results that arrive while others are at
    /// the database to it together: one claim statement, one transaction (group commit).
    /// Default true.
    public var batchWorkerCalls: Bool = true
    /// Seconds a webhook call may take (connect, send, answer) before it counts as failed.
    /// Default 10.
    public var webhookTimeoutSeconds: Double = 10
    /// Calls per webhook delivery before it is given up. Default 10.
    public var webhookMaxAttempts: Int = 10
    /// Backoff after the first failed webhook call, doubling per call, with jitter. Default 10 s
    ///.
    public var webhookRetryBaseSeconds: Double = 10
    /// The longest webhook backoff. Default 3600 s.
    public var webhookRetryMaxSeconds: Double = 3600
    /// How often the webhook sender looks for deliveries due (retries, and tasks finished by
    /// other server processes); deliveries for tasks this process finishes leave at once.
    /// Default 2 s.
    public var webhookPollSeconds: Double = 2
    /// Whether webhooks may call loopback, private, link-local and other non-public addresses.
    /// Default false.
    public var webhookAllowPrivateTargets: Bool = false
    /// When set, every webhook call is signed with HMAC-SHA256 under this secret. Never logged.
    /// Default none.
    public var webhookSecret: String?
    /// A PEM file of certificate authorities trusted for https webhook receivers besides the
    /// system's. Default none.
    public var webhookCAFile: String?
    /// The key file that seals ExApp secrets for trigger calls (created, mode 0600, when
    /// missing). Every server process and `app` command must use the same file. Default nil:
    /// `secret.key` in `dataDirectory`.
    public var secretKeyFile: String?
    /// Trigger call timeout (connect, send, answer), as AppAPI's. Default 3 s.
    public var triggerTimeoutSeconds: Double = 3
    /// Calls per trigger request before it is given up: failed calls, and answered calls after
    /// which the provider's work still waited untouched. Default 5.
    public var triggerMaxAttempts: Int = 5
    /// After an answered trigger call, how long new work of the provider rides on it before the
    /// server looks again (doubling per call of the same request). Default 5 s.
    public var triggerRecheckSeconds: Double = 5

    /// The secret key file in use: `secretKeyFile`, else `secret.key` in `dataDirectory`.
    public var resolvedSecretKeyFile: String { secretKeyFile ?? dataDirectory + "/secret.key" }

    /// The sealer of the secret key file in use, creating the file if it is missing.
    public func secretSealer() throws -> SecretSealer {
        try SecretKeyFile.sealer(path: resolvedSecretKeyFile)
    }

    /// Log level: trace, debug, info, notice, warning, error, critical. Default info.
    public var logLevel: Logger.Level = .info
    /// How log lines are written: for people, or one JSON object per line for log shippers.
    public var logFormat: LogFormat = .text
    /// Whether `/metrics` is served and counted. Default true.
    public var metrics: Bool = true
    /// Clients that may read `/metrics` without credentials; others must be administrators.
    /// Default loopback.
    public var metricsAllowedClients: [ClientAddressRange] = ClientAddressRange.list("127.0.0.0/8,::1/128") ?? []

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

    /// Applies, for every setting, the flag if given, else the environment variable if set,
    /// else the default (``ServerSettings`` lists them). Earlier spellings still work.
    public static func resolve(
        flags: [String: String], environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> ServerConfiguration {
        try ServerSettings.resolve(flags: flags, environment: environment).configuration
    }

    /// As ``resolve(flags:environment:)``, with a warning for each deprecated spelling used.
    public static func resolveWithWarnings(
        flags: [String: String], environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> (configuration: ServerConfiguration, deprecations: [String]) {
        let resolution = try ServerSettings.resolve(flags: flags, environment: environment)
        return (resolution.configuration, resolution.deprecations)
    }

    static func defaultDataDirectory() -> String {
        if getuid() == 0 { return "/var/lib/taskdispatch" }
        let environment = ProcessInfo.processInfo.environment
        if let dataHome = environment["XDG_DATA_HOME"], !dataHome.isEmpty { return dataHome + "/taskdispatch" }
        return NSHomeDirectory() + "/.local/share/taskdispatch"
    }
}
