import Postgres

/// One trigger call to make: `POST <baseURL>/trigger?providerId=<providerID>` to the provider's
/// ExApp, with its secret.
public struct ProviderTriggerCall: Sendable, Equatable {
    public let providerID: String
    public let taskType: String
    public let appID: String
    public let baseURL: String
    /// The app's secret sealed under the key file; nil when it was never sealed.
    public let sealedSecret: [UInt8]?
    /// Calls made for this request, this one included.
    public let attempt: Int
}

/// A provider's trigger request as operators see it (`admin/workers`, `admin/status`).
public struct ProviderTriggerState: Sendable, Equatable {
    public let providerID: String
    public let appID: String?
    public let taskType: String?
    public let attempts: Int
    /// Unix seconds.
    public let requestedAt: Int64
    public let dueAt: Int64
    public let sentAt: Int64?
    public let inFlight: Bool
    public let lastError: String?
    public let givenUpAt: Int64?
}

/// Provider triggers in PostgreSQL (`provider_triggers`, migration 13): requests, the calls
/// they lead to, and their outcome. Safe from any number of server processes: a provider has
/// at most one row, inserted `ON CONFLICT DO NOTHING`, and a sender claims it `FOR UPDATE SKIP
/// LOCKED` and pushes it past the call's timeout, so one call is in flight per provider.
///
/// A row's life: requested (due now) → claimed (in flight) → answered (work arriving meanwhile
/// rides on that call, until the provider's ExApp finds its queue empty, which deletes the row,
/// or until `due_at`, the recheck) or failed (due again after a backoff) → at the next claim,
/// deleted if nothing of the type waits or something of it runs (the provider took the work),
/// else called again; given up after the last attempt.
public struct ProviderTriggerStore: Sendable {
    let tasks: TaskStore

    public init(pool: PostgresConnectionPool) {
        tasks = TaskStore(pool: pool)
    }

    init(tasks: TaskStore) {
        self.tasks = tasks
    }

    /// The enabled ExApps that have a URL: the only ones worth a request.
    public func appsWithURL() throws(StoreError) -> Set<String> {
        try tasks.withConnection { connection in
            let query: PostgresQuery = "SELECT app_id FROM ex_apps WHERE base_url IS NOT NULL AND enabled"
            return Set(try connection.query(query).rows.compactMap { $0.string("app_id") })
        }
    }

    /// Asks for a call to each of `providerIDs` whose app has a URL, whose type has a task
    /// waiting to be claimed, is not paused, and has nothing running (Nextcloud's rule: a busy
    /// provider asks again when it is done). A provider with a row already gets nothing new
    /// (the coalescing); with `rearm`, a row given up starts over. Returns the providers that
    /// got a new or restarted request.
    @discardableResult
    public func request(providerIDs: [String], rearm: Bool) throws(StoreError) -> [String] {
        guard !providerIDs.isEmpty else { return [] }
        return try tasks.withConnection { connection in
            try connection.query(
                """
                INSERT INTO provider_triggers AS trigger (provider_id)
                SELECT provider.id FROM task_providers AS provider
                JOIN ex_apps AS app ON app.app_id = provider.app_id AND app.enabled AND app.base_url IS NOT NULL
                WHERE provider.id = ANY(\(bind: providerIDs)::text[])
                    AND \(unescaped: Self.workWaits("provider.task_type"))
                ON CONFLICT (provider_id) DO UPDATE
                    SET requested_at = now(), due_at = now(), attempts = 0, sent_at = NULL, last_error = NULL, given_up_at = NULL
                    WHERE \(bind: rearm) AND trigger.given_up_at IS NOT NULL
                RETURNING provider_id
                """
            ).rows.compactMap { $0.string("provider_id") }
        }
    }

    /// SQL true when a task of `type` waits to be claimed, the type is not paused, and none of
    /// it runs. Index probes only (`tasks_claim_idx`, `tasks_type_status_idx`).
    private static func workWaits(_ type: String) -> String {
        """
        EXISTS (SELECT 1 FROM tasks WHERE tasks.type = \(type) AND tasks.status = \(TaskStatus.scheduled.rawValue)
                AND tasks.run_after IS NULL)
            AND NOT EXISTS (SELECT 1 FROM tasks WHERE tasks.type = \(type) AND tasks.status = \(TaskStatus.running.rawValue))
            AND NOT EXISTS (SELECT 1 FROM task_type_settings AS setting WHERE setting.type = \(type) AND setting.paused)
        """
    }

    /// Claims up to `limit` due requests for `leaseSeconds` (the call's timeout plus a margin),
    /// counting the attempt. A due request whose work is gone (nothing waits, something runs,
    /// the type is paused, the app lost its URL) is deleted instead: it has been served.
    public func claimDue(limit: Int, leaseSeconds: Double) throws(StoreError) -> [ProviderTriggerCall] {
        try tasks.withConnection { connection in
            try connection.query(
                """
                WITH due AS MATERIALIZED (
                    SELECT provider_id FROM provider_triggers
                    WHERE given_up_at IS NULL AND due_at <= now()
                    ORDER BY due_at
                    LIMIT \(bind: limit)
                    FOR UPDATE SKIP LOCKED
                ), target AS MATERIALIZED (
                    SELECT due.provider_id, provider.task_type, provider.app_id, app.base_url, app.sealed_secret,
                           app.base_url IS NOT NULL AND \(unescaped: Self.workWaits("provider.task_type")) AS callable
                    FROM due
                    JOIN task_providers AS provider ON provider.id = due.provider_id
                    LEFT JOIN ex_apps AS app ON app.app_id = provider.app_id AND app.enabled
                ), served AS (
                    DELETE FROM provider_triggers AS trigger USING target
                    WHERE trigger.provider_id = target.provider_id AND NOT target.callable
                ), claimed AS (
                    UPDATE provider_triggers AS trigger
                    SET attempts = trigger.attempts + 1,
                        in_flight_until = now() + make_interval(secs => \(bind: leaseSeconds)::float8),
                        due_at = now() + make_interval(secs => \(bind: leaseSeconds)::float8)
                    FROM target
                    WHERE trigger.provider_id = target.provider_id AND target.callable
                    RETURNING trigger.provider_id, trigger.attempts
                )
                SELECT claimed.provider_id, claimed.attempts, target.task_type, target.app_id, target.base_url,
                       target.sealed_secret
                FROM claimed JOIN target ON target.provider_id = claimed.provider_id
                ORDER BY claimed.provider_id
                """
            ).rows.map { row throws(StoreError) in
                guard let providerID = row.string("provider_id"), let attempt = row.int("attempts"),
                    let taskType = row.string("task_type"), let appID = row.string("app_id"),
                    let baseURL = row.string("base_url")
                else { throw StoreError.corruptRow("a provider trigger row lacks a required column") }
                return ProviderTriggerCall(
                    providerID: providerID, taskType: taskType, appID: appID, baseURL: baseURL,
                    sealedSecret: row.bytes("sealed_secret"), attempt: attempt)
            }
        }
    }

    /// Records a 2xx answer: the request stays for `recheckSeconds`, so that work arriving
    /// meanwhile rides on this call, and is then deleted or called again (``claimDue``).
    public func markAnswered(_ call: ProviderTriggerCall, recheckSeconds: Double) throws(StoreError) {
        try tasks.withConnection { connection in
            try connection.transaction { connection in
                _ = try connection.query(
                    """
                    UPDATE provider_triggers
                    SET sent_at = now(), in_flight_until = NULL, last_error = NULL,
                        due_at = now() + make_interval(secs => \(bind: recheckSeconds)::float8)
                    WHERE provider_id = \(bind: call.providerID)
                    """)
                _ = try connection.query("UPDATE ex_apps SET last_triggered_at = now() WHERE app_id = \(bind: call.appID)")
            }
        }
    }

    /// The providers' ExApp looked for work and found none: their answered calls have done their
    /// part, so the next work that arrives gets a call of its own instead of riding on them until
    /// the recheck. Their rows are deleted, or made due at once if work arrived between that
    /// empty claim and now (its own request met the row and was coalesced into it). Rows in
    /// flight or given up stay.
    public func providersFoundNothing(_ providerIDs: [String]) throws(StoreError) {
        try tasks.withConnection { connection in
            _ = try connection.query(
                """
                WITH answered AS MATERIALIZED (
                    SELECT trigger.provider_id, provider.task_type,
                           \(unescaped: Self.workWaits("provider.task_type")) AS work_waits
                    FROM provider_triggers AS trigger
                    JOIN task_providers AS provider ON provider.id = trigger.provider_id
                    WHERE trigger.provider_id = ANY(\(bind: providerIDs)::text[]) AND trigger.sent_at IS NOT NULL
                        AND (trigger.in_flight_until IS NULL OR trigger.in_flight_until < now()) AND trigger.given_up_at IS NULL
                    FOR UPDATE OF trigger
                ), rearmed AS (
                    UPDATE provider_triggers AS trigger
                    SET requested_at = now(), due_at = now(), attempts = 0, sent_at = NULL, last_error = NULL
                    FROM answered WHERE trigger.provider_id = answered.provider_id AND answered.work_waits
                )
                DELETE FROM provider_triggers AS trigger USING answered
                WHERE trigger.provider_id = answered.provider_id AND NOT answered.work_waits
                """)
        }
    }

    /// Records a failed call: due again after `retrySeconds`, or given up when nil.
    public func markFailed(_ call: ProviderTriggerCall, error: String, retrySeconds: Double?) throws(StoreError) {
        try tasks.withConnection { connection in
            _ = try connection.query(
                """
                UPDATE provider_triggers
                SET in_flight_until = NULL, last_error = \(bind: error),
                    due_at = now() + make_interval(secs => coalesce(\(bind: retrySeconds)::float8, 0)),
                    given_up_at = CASE WHEN \(bind: retrySeconds)::float8 IS NULL THEN now() END
                WHERE provider_id = \(bind: call.providerID)
                """)
        }
    }

    /// Every request, for operators: given up first, then by provider.
    public func states() throws(StoreError) -> [ProviderTriggerState] {
        try tasks.withConnection { connection in
            let query: PostgresQuery = """
                SELECT trigger.provider_id, provider.app_id, provider.task_type, trigger.attempts,
                       floor(extract(epoch FROM trigger.requested_at))::bigint AS requested_at,
                       floor(extract(epoch FROM trigger.due_at))::bigint AS due_at,
                       floor(extract(epoch FROM trigger.sent_at))::bigint AS sent_at,
                       coalesce(trigger.in_flight_until > now(), false) AS in_flight, trigger.last_error,
                       floor(extract(epoch FROM trigger.given_up_at))::bigint AS given_up_at
                FROM provider_triggers AS trigger
                LEFT JOIN task_providers AS provider ON provider.id = trigger.provider_id
                ORDER BY trigger.given_up_at IS NULL, trigger.provider_id
                """
            return try connection.query(query).rows.map { row in
                ProviderTriggerState(
                    providerID: row.string("provider_id") ?? "", appID: row.string("app_id"), taskType: row.string("task_type"),
                    attempts: row.int("attempts") ?? 0, requestedAt: row.int64("requested_at") ?? 0,
                    dueAt: row.int64("due_at") ?? 0, sentAt: row.int64("sent_at"), inFlight: row.bool("in_flight") ?? false,
                    lastError: row.string("last_error"), givenUpAt: row.int64("given_up_at"))
            }
        }
    }
}
