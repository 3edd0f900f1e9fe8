import ArgumentParser
import Foundation
import Logging
import TaskQueue

/// `taskdispatch serve`: runs the server until SIGINT or SIGTERM.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Run the server.")

    @OptionGroup var database: DatabaseOptions
    @Option(help: "Address to listen on (env TASKDISPATCH_HOST, default 127.0.0.1).") var host: String?
    @Option(help: "Port to listen on (env TASKDISPATCH_PORT, default 8080).") var port: String?
    @Option(help: "HTTP worker threads (env TASKDISPATCH_THREADS, default 16).") var threads: String?
    @Option(help: "Database connections (env TASKDISPATCH_DB_POOL_SIZE, default 16).") var dbPoolSize: String?
    @Option(help: "Prepare statements under names, true or false; false behind PgBouncer's transaction pooling (env TASKDISPATCH_PREPARED_STATEMENTS, default true).")
    var preparedStatements: String?
    @Option(help: "Database URL for the long poll listener's LISTEN connection, straight to PostgreSQL when --database-url is a transaction pooler (env TASKDISPATCH_LISTEN_DATABASE_URL, default the database URL).")
    var listenDatabaseUrl: String?
    @Option(help: "Largest request body in bytes (env TASKDISPATCH_MAX_BODY_BYTES, default 1048576).") var maxBodyBytes: String?
    @Option(help: "Idle connection timeout in seconds (env TASKDISPATCH_CONNECTION_TIMEOUT, default 30).")
    var connectionTimeout: String?
    @Option(help: "Seconds beyond the idle timeout a connection has to send each request (env TASKDISPATCH_REQUEST_TIMEOUT, default 30, 0 = off).")
    var requestTimeout: String?
    @Option(help: "Seconds a new connection has to send its first request line and headers (env TASKDISPATCH_FIRST_REQUEST_TIMEOUT, default 5, 0 = off).")
    var firstRequestTimeout: String?
    @Option(help: "Most connections open at once; past it the oldest one still waiting for a request is closed, else the new one gets 503 (env TASKDISPATCH_MAX_CONNECTIONS, default 10000).")
    var maxConnections: String?
    @Option(help: "Most connections open at once from one client address, 0 = no limit; set 0 behind a reverse proxy (env TASKDISPATCH_MAX_CONNECTIONS_PER_IP, default 1000).")
    var maxConnectionsPerIp: String?
    @Option(help: "PEM certificate chain: serve only HTTPS on the port, with --tls-key (env TASKDISPATCH_TLS_CERT).")
    var tlsCert: String?
    @Option(help: "PEM private key of --tls-cert (env TASKDISPATCH_TLS_KEY).")
    var tlsKey: String?
    @Option(help: "Seconds a claimed task is leased (env TASKDISPATCH_LEASE_SECONDS, default 300).") var leaseSeconds: String?
    @Option(help: "Longest lease a worker may ask for (env TASKDISPATCH_MAX_LEASE_SECONDS, default 3600).")
    var maxLeaseSeconds: String?
    @Option(help: "Leases per task type, TYPE=SECONDS,... (env TASKDISPATCH_LEASE_BY_TYPE).")
    var leaseByType: String?
    @Option(help: "Claims before an expired lease fails a task (env TASKDISPATCH_MAX_ATTEMPTS, default 3).")
    var maxAttempts: String?
    @Option(help: "Seconds an Idempotency-Key is remembered (env TASKDISPATCH_IDEMPOTENCY_RETENTION_SECONDS, default 86400).")
    var idempotencyRetention: String?
    @Option(help: "First retry backoff in seconds, doubling per attempt (env TASKDISPATCH_RETRY_BASE_SECONDS, default 10).")
    var retryBaseSeconds: String?
    @Option(help: "Longest retry backoff in seconds (env TASKDISPATCH_RETRY_MAX_SECONDS, default 600).")
    var retryMaxSeconds: String?
    @Option(help: "Delete finished tasks this many seconds after their last update, 0 = never (env TASKDISPATCH_RETENTION_SECONDS, default 2592000).")
    var retention: String?
    @Option(help: "Longest long poll (wait) on next/next_batch in seconds; longer asks are capped (env TASKDISPATCH_MAX_WAIT_SECONDS, default 30).")
    var maxWaitSeconds: String?
    @Option(help: "While long polls wait, seconds between checks for tasks whose notification was lost (env TASKDISPATCH_LONG_POLL_BACKSTOP_SECONDS, default 5).")
    var longPollBackstopSeconds: String?
    @Option(help: "Largest uploaded file in bytes (env TASKDISPATCH_MAX_FILE_BYTES, default 67108864).")
    var maxFileBytes: String?
    @Option(help: "Delete uploads no task uses after this many seconds (env TASKDISPATCH_UNUSED_FILE_RETENTION_SECONDS, default 86400).")
    var unusedFileRetention: String?
    @Option(help: "Tasks a user may schedule per period, 0 = no limit (env TASKDISPATCH_SCHEDULE_RATE_LIMIT, default 100).")
    var scheduleRateLimit: String?
    @Option(help: "The schedule rate limit's period in seconds (env TASKDISPATCH_SCHEDULE_RATE_PERIOD, default 60).")
    var scheduleRatePeriod: String?
    @Option(help: "Refuse requests without OCS-APIRequest: true or a Bearer token, true or false (env TASKDISPATCH_CSRF_CHECK, default true).")
    var csrfCheck: String?
    @Option(help: "Send next calls and single results that arrive together to the database together, true or false (env TASKDISPATCH_BATCH_WORKER_CALLS, default true).")
    var batchWorkerCalls: String?
    @Option(help: "Seconds a webhook call may take (env TASKDISPATCH_WEBHOOK_TIMEOUT, default 10).")
    var webhookTimeout: String?
    @Option(help: "Calls per webhook before it is given up (env TASKDISPATCH_WEBHOOK_MAX_ATTEMPTS, default 10).")
    var webhookMaxAttempts: String?
    @Option(help: "First webhook retry backoff in seconds, doubling per call (env TASKDISPATCH_WEBHOOK_RETRY_BASE_SECONDS, default 10).")
    var webhookRetryBaseSeconds: String?
    @Option(help: "Longest webhook retry backoff in seconds (env TASKDISPATCH_WEBHOOK_RETRY_MAX_SECONDS, default 3600).")
    var webhookRetryMaxSeconds: String?
    @Option(help: "Seconds between looks for due webhook deliveries (env TASKDISPATCH_WEBHOOK_POLL_SECONDS, default 2).")
    var webhookPollSeconds: String?
    @Flag(help: "Let webhooks call loopback and private addresses (env TASKDISPATCH_WEBHOOK_ALLOW_PRIVATE_TARGETS=true).")
    var webhookAllowPrivateTargets = false
    @Option(help: "Sign webhook calls with HMAC-SHA256 under this secret (prefer env TASKDISPATCH_WEBHOOK_SECRET).")
    var webhookSecret: String?
    @Option(help: "PEM file of certificate authorities trusted for https webhooks besides the system's (env TASKDISPATCH_WEBHOOK_CA_FILE).")
    var webhookCaFile: String?

    func run() throws {
        // First: a SIGTERM that arrives while the database or the server starts must not be lost.
        let signals = TerminationSignals.catchSignals()
        var flags = database.flags
        flags["host"] = host
        flags["port"] = port
        flags["threads"] = threads
        flags["db-pool-size"] = dbPoolSize
        flags["prepared-statements"] = preparedStatements
        flags["listen-database-url"] = listenDatabaseUrl
        flags["max-body-bytes"] = maxBodyBytes
        flags["connection-timeout"] = connectionTimeout
        flags["request-timeout"] = requestTimeout
        flags["first-request-timeout"] = firstRequestTimeout
        flags["max-connections"] = maxConnections
        flags["max-connections-per-ip"] = maxConnectionsPerIp
        flags["tls-cert"] = tlsCert
        flags["tls-key"] = tlsKey
        flags["lease-seconds"] = leaseSeconds
        flags["max-lease-seconds"] = maxLeaseSeconds
        flags["lease-by-type"] = leaseByType
        flags["max-attempts"] = maxAttempts
        flags["idempotency-retention"] = idempotencyRetention
        flags["retry-base-seconds"] = retryBaseSeconds
        flags["retry-max-seconds"] = retryMaxSeconds
        flags["retention"] = retention
        flags["max-wait-seconds"] = maxWaitSeconds
        flags["long-poll-backstop-seconds"] = longPollBackstopSeconds
        flags["max-file-bytes"] = maxFileBytes
        flags["unused-file-retention"] = unusedFileRetention
        flags["schedule-rate-limit"] = scheduleRateLimit
        flags["schedule-rate-period"] = scheduleRatePeriod
        flags["csrf-check"] = csrfCheck
        flags["batch-worker-calls"] = batchWorkerCalls
        flags["webhook-timeout"] = webhookTimeout
        flags["webhook-max-attempts"] = webhookMaxAttempts
        flags["webhook-retry-base-seconds"] = webhookRetryBaseSeconds
        flags["webhook-retry-max-seconds"] = webhookRetryMaxSeconds
        flags["webhook-poll-seconds"] = webhookPollSeconds
        if webhookAllowPrivateTargets { flags["webhook-allow-private-targets"] = "true" }
        flags["webhook-secret"] = webhookSecret
        flags["webhook-ca-file"] = webhookCaFile
        let configuration = try ServerConfiguration.resolve(flags: flags)

        try withDatabase(configuration) { database, logger in
            let server = TaskDispatchServer(
                configuration: configuration, connectionString: database.connectionString, logger: logger)
            try server.start()
            if database.isEmbedded { try FirstRun.greet(accounts: server.accounts, dataDirectory: configuration.dataDirectory) }
            print("TaskDispatch \(TaskDispatchVersion.current) listening on \(configuration.tls == nil ? "http" : "https")://\(configuration.host):\(server.port)")
            fflush(nil)  // stdout may be a pipe: show the address now
            let signal = signals.wait()
            logger.info("stopping", metadata: ["signal": "\(signal)"])
            server.stop()
        }
    }
}

/// On the embedded database's first run, creates an admin and shows how to authenticate.
enum FirstRun {
    static func greet(accounts: AccountStore, dataDirectory: String) throws {
        guard try accounts.users().isEmpty else { return }
        let (_, password) = try accounts.addUser(name: "admin", isAdmin: true)
        print("""
            First run: created the administrator 'admin' in the embedded database (\(dataDirectory)).
              app password (shown once): \(password)
              use it as:  curl -u admin:\(password) -H 'OCS-APIRequest: true' ...   or   -H 'Authorization: Bearer \(password)'
              register a worker app:  taskdispatch app add APP_ID
            """)
    }
}
