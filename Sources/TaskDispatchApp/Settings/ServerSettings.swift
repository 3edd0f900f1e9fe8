import Foundation
import Logging
import MicroHTTP
import OCSAPI

/// Every server setting, in the order `--help` and the README list them. To add one: a
/// property on ``ServerConfiguration`` and a row here; parsing, help, messages and the README
/// table follow (a test fails until the README's table is regenerated).
enum ServerSettings {
    static let all: [ServerSetting] = [
        .text("host", "TASKDISPATCH_HOST", \.host, valueName: "ADDRESS", help: "listen address"),
        .integer("port", "TASKDISPATCH_PORT", \.port, in: 0...UInt16.max, help: "port (0 = any free)"),
        .optionalText(
            "database-url", "DATABASE_URL", \.databaseURL, valueName: "URL",
            help: "PostgreSQL connection string or URL", defaultText: "embedded cluster"),
        .text(
            "data-dir", "TASKDISPATCH_DATA_DIR", \.dataDirectory, valueName: "DIR", help: "embedded cluster folder",
            defaultText: "`/var/lib/taskdispatch` (root), `~/.local/share/taskdispatch`"),
        .integer(
            "threads", "TASKDISPATCH_THREADS", \.httpThreads, in: 1...4096,
            help: "handler threads (run requests, whichever connection they came on; may wait on the database)"),
        .integer("db-pool-size", "TASKDISPATCH_DB_POOL_SIZE", \.databasePoolSize, in: 1...10_000, help: "database connections"),
        .boolean(
            "prepared-statements", "TASKDISPATCH_PREPARED_STATEMENTS", \.preparedStatements,
            help: "prepare statements under names (`false` behind PgBouncer's transaction pooling)"),
        .optionalText(
            "listen-database-url", "TASKDISPATCH_LISTEN_DATABASE_URL", \.listenDatabaseURL, valueName: "URL",
            help: "database for the long poll listener's `LISTEN` (PostgreSQL itself when `--database-url` is a transaction pooler)",
            defaultText: "the database URL"),
        .integer(
            "max-body-bytes", "TASKDISPATCH_MAX_BODY_BYTES", \.maxBodyBytes, in: 1...Int.max, unit: "bytes",
            help: "largest request body (413 above, decided before reading)"),
        .integer(
            "connection-timeout-seconds", "TASKDISPATCH_CONNECTION_TIMEOUT_SECONDS", \.connectionTimeoutSeconds,
            in: 0...UInt32.max, unit: "seconds", help: "idle connection timeout",
            oldFlags: ["connection-timeout"], oldEnvironment: ["TASKDISPATCH_CONNECTION_TIMEOUT"]),
        .integer(
            "request-timeout-seconds", "TASKDISPATCH_REQUEST_TIMEOUT_SECONDS", \.requestTimeoutSeconds, in: 0...UInt32.max,
            unit: "seconds",
            help: "each request must arrive within the idle timeout plus this after the connection opens or the previous response (0 = off)",
            oldFlags: ["request-timeout"], oldEnvironment: ["TASKDISPATCH_REQUEST_TIMEOUT"]),
        .integer(
            "first-request-timeout-seconds", "TASKDISPATCH_FIRST_REQUEST_TIMEOUT_SECONDS", \.firstRequestTimeoutSeconds,
            in: 0...UInt32.max, unit: "seconds", help: "a new connection's first request line and headers (0 = off)",
            oldFlags: ["first-request-timeout"], oldEnvironment: ["TASKDISPATCH_FIRST_REQUEST_TIMEOUT"]),
        .integer(
            "max-connections", "TASKDISPATCH_MAX_CONNECTIONS", \.maxConnections, in: 1...UInt32.max,
            help: "most connections open at once; past it the oldest one still waiting for a request is closed, else the new one gets 503"),
        .integer(
            "max-connections-per-ip", "TASKDISPATCH_MAX_CONNECTIONS_PER_IP", \.maxConnectionsPerIP, in: 0...UInt32.max,
            help: "most connections open at once from one client address (0 = no limit: set 0 behind a reverse proxy)"),
        ServerSetting(
            flag: "tls-cert", environment: "TASKDISPATCH_TLS_CERT", help: "PEM certificate chain: serve only HTTPS on the port",
            defaultText: "none (plain HTTP)", valueName: "FILE"
        ) { text, resolution throws(ServerSetting.Refusal) in resolution.tlsCertificateFile = text },
        ServerSetting(
            flag: "tls-key", environment: "TASKDISPATCH_TLS_KEY", help: "PEM private key of `--tls-cert`", defaultText: "none",
            valueName: "FILE"
        ) { text, resolution throws(ServerSetting.Refusal) in resolution.tlsKeyFile = text },
        .integer(
            "lease-seconds", "TASKDISPATCH_LEASE_SECONDS", \.leaseSeconds, in: 1...Int(Int32.max), unit: "seconds",
            help: "claim lease (`leaseExpiresAt`)"),
        ServerSetting(
            flag: "lease-by-type", environment: "TASKDISPATCH_LEASE_BY_TYPE", help: "leases per task type, `TYPE=SECONDS,…`",
            defaultText: "none", valueName: "TYPE=SECONDS,…"
        ) { text, resolution throws(ServerSetting.Refusal) in
            guard let leases = parseLeasesByType(text) else {
                throw ServerSetting.Refusal(reason: "expected TYPE=SECONDS entries separated by commas, seconds above 0")
            }
            resolution.configuration.leaseSecondsByType = leases
        },
        .integer(
            "max-lease-seconds", "TASKDISPATCH_MAX_LEASE_SECONDS", \.maxLeaseSeconds, in: 1...Int(Int32.max), unit: "seconds",
            help: "longest lease a worker may ask for"),
        .integer("max-attempts", "TASKDISPATCH_MAX_ATTEMPTS", \.maxAttempts, in: 1...1000, help: "claims before an expired lease fails a task"),
        .integer(
            "retry-base-seconds", "TASKDISPATCH_RETRY_BASE_SECONDS", \.retryBaseSeconds, in: 1...Int(Int32.max), unit: "seconds",
            help: "first retry backoff (doubles per attempt, with jitter)"),
        .integer(
            "retry-max-seconds", "TASKDISPATCH_RETRY_MAX_SECONDS", \.retryMaxSeconds, in: 1...Int(Int32.max), unit: "seconds",
            help: "longest retry backoff"),
        .integer(
            "retention-seconds", "TASKDISPATCH_RETENTION_SECONDS", \.retentionSeconds, in: 0...Int(Int32.max), unit: "seconds",
            help: "delete finished tasks (with `allowCleanup`) this long after their last update (0 = never)",
            oldFlags: ["retention"]),
        .integer(
            "history-retention-seconds", "TASKDISPATCH_HISTORY_RETENTION_SECONDS", \.historyRetentionSeconds,
            in: 60...Int(Int32.max), unit: "seconds", help: "keep the per-minute history of each task type (`admin/history`) this long"),
        .integer(
            "dashboard-session-seconds", "TASKDISPATCH_DASHBOARD_SESSION_SECONDS", \.dashboardSessionSeconds,
            in: 60...Int(Int32.max), unit: "seconds", help: "a dashboard sign-in lasts this long"),
        .boolean(
            "dashboard-secure-cookie", "TASKDISPATCH_DASHBOARD_SECURE_COOKIE", \.dashboardSecureCookie,
            help: "mark the dashboard cookie `Secure` behind an HTTPS reverse proxy (always so with `--tls-cert`)"),
        .integer(
            "idempotency-retention-seconds", "TASKDISPATCH_IDEMPOTENCY_RETENTION_SECONDS", \.idempotencyRetentionSeconds,
            in: 1...Int(Int32.max), unit: "seconds", help: "how long an `Idempotency-Key` is remembered",
            oldFlags: ["idempotency-retention"]),
        .integer(
            "max-file-bytes", "TASKDISPATCH_MAX_FILE_BYTES", \.maxFileBytes, in: 1...Int.max, unit: "bytes",
            help: "largest uploaded file (413 above; upload routes accept this plus 64 KiB of multipart framing)"),
        .integer(
            "max-dependencies", "TASKDISPATCH_MAX_DEPENDENCIES", \.maxDependencies, in: 1...100_000,
            help: "the most tasks one task may depend on (`dependsOn`)"),
        .integer(
            "unused-file-retention-seconds", "TASKDISPATCH_UNUSED_FILE_RETENTION_SECONDS", \.unusedFileRetentionSeconds,
            in: 1...Int(Int32.max), unit: "seconds", help: "delete uploads no task used after this long",
            oldFlags: ["unused-file-retention"]),
        .integer(
            "schedule-rate-limit", "TASKDISPATCH_SCHEDULE_RATE_LIMIT", \.scheduleRateLimit, in: 0...Int(Int32.max),
            help: "tasks a user may schedule per period (0 = no limit)"),
        .integer(
            "schedule-rate-period-seconds", "TASKDISPATCH_SCHEDULE_RATE_PERIOD_SECONDS", \.scheduleRatePeriodSeconds,
            in: 1...Int(Int32.max), unit: "seconds", help: "the schedule rate limit's period",
            oldFlags: ["schedule-rate-period"], oldEnvironment: ["TASKDISPATCH_SCHEDULE_RATE_PERIOD"]),
        .boolean(
            "csrf-check", "TASKDISPATCH_CSRF_CHECK", \.csrfCheck,
            help: "refuse requests without `OCS-APIRequest: true` or a Bearer token (412)"),
        .boolean(
            "batch-worker-calls", "TASKDISPATCH_BATCH_WORKER_CALLS", \.batchWorkerCalls,
            help: "send `next` calls and single results that arrive together to the database together"),
        .seconds(
            "webhook-timeout-seconds", "TASKDISPATCH_WEBHOOK_TIMEOUT_SECONDS", \.webhookTimeoutSeconds,
            help: "webhook call timeout (connect, send, answer)",
            oldFlags: ["webhook-timeout"], oldEnvironment: ["TASKDISPATCH_WEBHOOK_TIMEOUT"]),
        .integer(
            "webhook-max-attempts", "TASKDISPATCH_WEBHOOK_MAX_ATTEMPTS", \.webhookMaxAttempts, in: 1...1000,
            help: "calls per webhook before it is given up"),
        .seconds(
            "webhook-retry-base-seconds", "TASKDISPATCH_WEBHOOK_RETRY_BASE_SECONDS", \.webhookRetryBaseSeconds,
            help: "first webhook retry backoff (doubles per call, with jitter)"),
        .seconds(
            "webhook-retry-max-seconds", "TASKDISPATCH_WEBHOOK_RETRY_MAX_SECONDS", \.webhookRetryMaxSeconds,
            help: "longest webhook retry backoff"),
        .seconds(
            "webhook-poll-seconds", "TASKDISPATCH_WEBHOOK_POLL_SECONDS", \.webhookPollSeconds,
            help: "how often the webhook sender looks for due deliveries"),
        .boolean(
            "webhook-allow-private-targets", "TASKDISPATCH_WEBHOOK_ALLOW_PRIVATE_TARGETS", \.webhookAllowPrivateTargets,
            help: "let webhooks call loopback and private addresses", isSwitch: true),
        ServerSetting(
            flag: "webhook-secret", environment: "TASKDISPATCH_WEBHOOK_SECRET",
            help: "webhook signing secret (prefer the environment: flags show in `ps`)", defaultText: "none (unsigned)",
            valueName: "SECRET"
        ) { text, resolution throws(ServerSetting.Refusal) in
            // An empty secret would sign with an empty key: treat it as none.
            resolution.configuration.webhookSecret = text.isEmpty ? nil : text
        },
        ServerSetting(
            flag: "webhook-ca-file", environment: "TASKDISPATCH_WEBHOOK_CA_FILE",
            help: "PEM file of certificate authorities trusted for `https://` webhooks besides the system's", defaultText: "none",
            valueName: "FILE"
        ) { text, resolution throws(ServerSetting.Refusal) in
            guard FileManager.default.isReadableFile(atPath: text) else { throw ServerSetting.Refusal(reason: "cannot read \(text)") }
            resolution.configuration.webhookCAFile = text
        },
        .optionalText(
            "secret-key-file", "TASKDISPATCH_SECRET_KEY_FILE", \.secretKeyFile, valueName: "FILE",
            help: "key sealing ExApp secrets for trigger calls (created, mode 0600, if missing); the same file for every server process",
            defaultText: "`secret.key` in the data dir"),
        .seconds(
            "trigger-timeout-seconds", "TASKDISPATCH_TRIGGER_TIMEOUT_SECONDS", \.triggerTimeoutSeconds,
            help: "ExApp trigger call timeout (connect, send, answer)"),
        .integer(
            "trigger-max-attempts", "TASKDISPATCH_TRIGGER_MAX_ATTEMPTS", \.triggerMaxAttempts, in: 1...100,
            help: "trigger calls per request before it is given up (failed, or answered while the work stayed untouched)"),
        .seconds(
            "trigger-recheck-seconds", "TASKDISPATCH_TRIGGER_RECHECK_SECONDS", \.triggerRecheckSeconds,
            help: "after an answered trigger call, how long new work rides on it before the server looks again (doubles per call)"),
        .integer(
            "max-wait-seconds", "TASKDISPATCH_MAX_WAIT_SECONDS", \.maxWaitSeconds, in: 0...3600, unit: "seconds",
            help: "longest long poll (`wait` on `next` / `next_batch`); longer asks are capped"),
        .seconds(
            "long-poll-backstop-seconds", "TASKDISPATCH_LONG_POLL_BACKSTOP_SECONDS", \.longPollBackstopSeconds,
            help: "while long polls wait, time between checks for tasks whose notification was lost"),
        ServerSetting(
            flag: "log-level", environment: "TASKDISPATCH_LOG_LEVEL", help: "log level", defaultText: "info",
            valueName: "LEVEL"
        ) { text, resolution throws(ServerSetting.Refusal) in
            guard let level = Logger.Level(rawValue: text.lowercased()) else {
                throw ServerSetting.Refusal(reason: "expected trace, debug, info, notice, warning, error or critical")
            }
            resolution.configuration.logLevel = level
        },
        ServerSetting(
            flag: "log-format", environment: "TASKDISPATCH_LOG_FORMAT",
            help: "`text` for people, `json` for log shippers (one object per line: time, level, message, request id, ...)",
            defaultText: "text", valueName: "text|json"
        ) { text, resolution throws(ServerSetting.Refusal) in
            guard let format = LogFormat(rawValue: text.lowercased()) else { throw ServerSetting.Refusal(reason: "expected text or json") }
            resolution.configuration.logFormat = format
        },
        .boolean(
            "metrics", "TASKDISPATCH_METRICS", \.metrics,
            help: "serve Prometheus metrics at `/metrics` and count them (`false`: no route, no counting)"),
        ServerSetting(
            flag: "metrics-allowed-clients", environment: "TASKDISPATCH_METRICS_ALLOWED_CLIENTS",
            help: "client addresses (CIDR, comma-separated) that may read `/metrics` without credentials; "
                + "others must be administrators",
            defaultText: "127.0.0.0/8,::1/128", valueName: "CIDRS"
        ) { text, resolution throws(ServerSetting.Refusal) in
            guard let ranges = ClientAddressRange.list(text) else {
                throw ServerSetting.Refusal(reason: "expected addresses or CIDR blocks such as 10.0.0.0/8,::1/128, comma-separated")
            }
            resolution.configuration.metricsAllowedClients = ranges
        },
    ]

    /// What resolving the settings builds: the configuration, the TLS files (loaded together
    /// once both are known), and the deprecated spellings that were used.
    struct Resolution {
        var configuration = ServerConfiguration()
        var tlsCertificateFile: String?
        var tlsKeyFile: String?
        var deprecations: [String] = []
    }

    /// The setting a flag names, by its name or an earlier one.
    static func setting(flag: String) -> ServerSetting? {
        all.first { $0.flag == flag || $0.oldFlags.contains(flag) }
    }

    /// Applies, for every setting, its flag if given (or an earlier spelling of it), else its
    /// environment variable if set and not empty (or an earlier one), else the default.
    static func resolve(flags: [String: String], environment: [String: String]) throws -> Resolution {
        var resolution = Resolution()
        let known = Set(all.flatMap { [$0.flag] + $0.oldFlags })
        if let unknown = flags.keys.sorted().first(where: { !known.contains($0) }) {
            throw ServerConfiguration.InvalidSetting(description: "unknown setting --\(unknown); `taskdispatch serve --help` lists them")
        }
        for setting in all {
            guard let (text, source) = value(of: setting, flags: flags, environment: environment, resolution: &resolution) else {
                continue
            }
            do {
                try setting.apply(text, &resolution)
            } catch {
                throw ServerConfiguration.InvalidSetting(
                    description: "invalid value '\(text)' for \(source == setting.flag ? "--\(source)" : source) (\(setting.names)): \(error.reason)")
            }
        }
        switch (resolution.tlsCertificateFile, resolution.tlsKeyFile) {
        case (nil, nil): break
        case (let certificate?, let key?):
            do {
                resolution.configuration.tls = try TLSCredentials.load(certificateFile: certificate, keyFile: key)
            } catch {
                throw ServerConfiguration.InvalidSetting(
                    description: "\(error) (--tls-cert / TASKDISPATCH_TLS_CERT, --tls-key / TASKDISPATCH_TLS_KEY)")
            }
        default:
            throw ServerConfiguration.InvalidSetting(
                description: "--tls-cert (TASKDISPATCH_TLS_CERT) and --tls-key (TASKDISPATCH_TLS_KEY) go together")
        }
        return resolution
    }

    /// The text given for `setting` and where it came from (a flag name or a variable), noting
    /// a deprecated spelling.
    private static func value(
        of setting: ServerSetting, flags: [String: String], environment: [String: String], resolution: inout Resolution
    ) -> (String, String)? {
        if let text = flags[setting.flag] { return (text, setting.flag) }
        for old in setting.oldFlags {
            if let text = flags[old] {
                resolution.deprecations.append("--\(old) is deprecated; use --\(setting.flag)")
                return (text, old)
            }
        }
        if let text = environment[setting.environment], !text.isEmpty { return (text, setting.environment) }
        for old in setting.oldEnvironment {
            if let text = environment[old], !text.isEmpty {
                resolution.deprecations.append("\(old) is deprecated; use \(setting.environment)")
                return (text, old)
            }
        }
        return nil
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
}
