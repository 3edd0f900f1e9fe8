import JSON
import Postgres

extension TaskStore {
    /// Claims up to `limit` of the oldest waiting tasks of the given types in ONE statement and
    /// returns them in claim order (priority, then age).
    ///
    /// Each type's candidates are read from `tasks_claim_idx` in claim order and locked with
    /// `FOR UPDATE SKIP LOCKED`, so concurrent claimers (in this process or another) pass over each
    /// other's rows instead of waiting, and a row is taken only while it is still scheduled (the
    /// lock re-checks `status = 1` on the newest row version). The candidates CTE is
    /// `MATERIALIZED` so the planner cannot re-run the LIMIT subquery and update more rows than
    /// asked. A task therefore leaves the scheduled state once per attempt, whatever the number
    /// of workers and server processes.
    ///
    /// A paused type is passed over. A type with a running limit is claimed only inside a
    /// transaction that first locks its `task_type_settings` row: claimers of that type, in
    /// every process, take turns, and each counts the running tasks in a statement that starts
    /// after the previous holder committed, so the limit holds without a check-then-claim race.
    /// Which types are limited is known from ``LimitedTaskTypes`` (refreshed every few seconds);
    /// a type limited since is passed over by the plain statement until then, never over-claimed.
    ///
    /// Each claim is leased for `leaseSecondsByType[type]`, or else `leaseSeconds`, and records
    /// `providers[type]` as the provider it is for.
    public func claim(
        types: [String], limit: Int = 1, claimant: String, leaseSeconds: Int, leaseSecondsByType: [String: Int] = [:],
        providers: [String: String] = [:]
    ) throws(StoreError) -> [TaskRecord] {
        var seen = Set<String>()
        let wanted = types.filter { seen.insert($0).inserted }
        guard !wanted.isEmpty, limit > 0 else { return [] }
        let leaseTypes = wanted.filter { leaseSecondsByType[$0] != nil }
        let plan = ClaimPlan(
            types: wanted, providers: wanted.map { providers[$0] }, limit: limit, claimant: claimant,
            leaseSeconds: leaseSeconds, leaseTypes: leaseTypes, leases: leaseTypes.compactMap { leaseSecondsByType[$0] })
        let claimed = try withConnection { connection in
            let limited = try limitedTypes.current(on: connection).intersection(wanted)
            let rows: [PostgresRow]
            if limited.isEmpty {
                rows = try connection.query(Self.claimQuery(plan, holdsLimitLocks: false)).rows
            } else {
                rows = try connection.transaction { connection in
                    _ = try connection.query(
                        """
                        SELECT type FROM task_type_settings WHERE type = ANY(\(bind: limited.sorted())::text[])
                        ORDER BY type FOR UPDATE
                        """)
                    return try connection.query(Self.claimQuery(plan, holdsLimitLocks: true)).rows
                }
            }
            return try rows.map(TaskColumns.decode).sorted { (-$0.priority, $0.id) < (-$1.priority, $1.id) }
        }
        claimedTypes.remember(claimed)
        return claimed
    }

    /// What one claim statement is asked for; arrays parallel to `types`.
    package struct ClaimPlan: Sendable {
        var types: [String]
        var providers: [String?]
        var limit: Int
        var claimant: String
        var leaseSeconds: Int
        var leaseTypes: [String]
        var leases: [Int]

        package init(
            types: [String], providers: [String?], limit: Int, claimant: String, leaseSeconds: Int, leaseTypes: [String] = [],
            leases: [Int] = []
        ) {
            (self.types, self.providers, self.limit, self.claimant) = (types, providers, limit, claimant)
            (self.leaseSeconds, self.leaseTypes, self.leases) = (leaseSeconds, leaseTypes, leases)
        }
    }

    /// The claim statement. `package`: the benchmark runs it directly as its ceiling.
    ///
    /// Each type's scan locks up to `limit` rows so that concurrent claimers skip them, but only
    /// the best `limit` of all types are claimed: a claim of several types holds rows it does not
    /// take until it commits, and a concurrent claim of those types finds nothing meanwhile
    /// (and a long poll would take the type for empty). So a claim of several types announces
    /// those passed over rows on the ready channel, in the format of the `tasks_notify_ready`
    /// trigger; the notice is delivered at commit, when the rows are free again. A claim of one
    /// type takes every row it locks, and runs the plain statement (measured: the announcing one
    /// costs the database about a sixth more per claim).
    ///
    /// Per type, the scan takes nothing of a paused type, and of a limited type only with
    /// `holdsLimitLocks` (the caller locked its settings row in this transaction), and then no
    /// more than the limit leaves room for.
    package static func claimQuery(_ plan: ClaimPlan, holdsLimitLocks: Bool) -> PostgresQuery {
        let locked: PostgresQuery = """
            SELECT candidate.id, candidate.priority, wanted.type, wanted.provider,
                   coalesce(per_type.seconds, \(bind: plan.leaseSeconds)::integer) AS lease
            FROM unnest(\(bind: plan.types)::text[], \(bind: plan.providers)::text[]) AS wanted (type, provider)
            LEFT JOIN unnest(\(bind: plan.leaseTypes)::text[], \(bind: plan.leases)::integer[]) AS per_type (type, seconds)
                ON per_type.type = wanted.type
            LEFT JOIN task_type_settings AS setting ON setting.type = wanted.type
            CROSS JOIN LATERAL (
                SELECT id, priority FROM tasks
                WHERE status = \(TaskStatus.scheduled) AND run_after IS NULL AND type = wanted.type
                ORDER BY priority DESC, id
                LIMIT CASE
                    WHEN setting.paused THEN 0
                    WHEN setting.max_running IS NULL THEN \(bind: plan.limit)::integer
                    WHEN \(bind: holdsLimitLocks) THEN least(\(bind: plan.limit)::integer, greatest(0, setting.max_running - (
                        SELECT count(*) FROM (
                            SELECT 1 FROM tasks AS running
                            WHERE running.type = wanted.type AND running.status = \(TaskStatus.running)
                            LIMIT setting.max_running
                        ) AS counted)))
                    ELSE 0
                END
                FOR UPDATE SKIP LOCKED
            ) AS candidate
            """
        // `statement_timestamp()`, not `now()`: a claim that shares a transaction with results
        // (``WorkerCallBatcher``) may run well after that transaction began, and may take a task
        // released since; its claim time must not read as earlier than that release.
        let update: PostgresQuery = """
            UPDATE tasks
            SET status = \(TaskStatus.running), started_at = statement_timestamp(), last_updated = now(),
                attempt = tasks.attempt + 1, claimed_by = \(bind: plan.claimant), claimed_provider = candidates.provider,
                lease_seconds = candidates.lease, lease_expires_at = now() + make_interval(secs => candidates.lease)
            FROM candidates
            WHERE tasks.id = candidates.id AND tasks.status = \(TaskStatus.scheduled)
            """
        guard plan.types.count > 1 else {
            return """
                WITH candidates AS MATERIALIZED (
                    \(fragment: locked)
                    ORDER BY candidate.priority DESC, candidate.id
                    LIMIT \(bind: plan.limit)
                )
                \(fragment: update)
                RETURNING \(unescaped: TaskColumns.tasks)
                """
        }
        return """
            WITH locked AS MATERIALIZED (
                \(fragment: locked)
            ),
            candidates AS MATERIALIZED (
                SELECT id, provider, lease FROM locked ORDER BY priority DESC, id LIMIT \(bind: plan.limit)
            ),
            passed_over AS (
                SELECT pg_notify('\(unescaped: ReadyTaskNotice.channel)', CASE WHEN octet_length(payload) > 7000 THEN '*' ELSE payload END)
                FROM (
                    SELECT string_agg(n || ' ' || type, E'\\n') AS payload FROM (
                        SELECT type, count(*) AS n FROM locked
                        WHERE id NOT IN (SELECT id FROM candidates)
                        GROUP BY type
                    ) AS by_type
                ) AS notice
                WHERE payload IS NOT NULL
            )
            \(fragment: update)
                -- Referencing passed_over makes it run (once); it yields at most one row.
                AND (SELECT count(*) FROM passed_over) >= 0
            RETURNING \(unescaped: TaskColumns.tasks)
            """
    }

    /// Records progress (0...1) of a running task and extends its lease by the length granted at
    /// the claim: progress reports are the worker's heartbeat. Progress on a cancelled task
    /// changes nothing and shows the worker the cancelled task, so it stops.
    ///
    /// `attempt` fences stale workers: when given, the report applies only if it names the
    /// current claim. Without it (Nextcloud clients) any report for the running task applies.
    public func reportProgress(id: Int64, progress: Double, attempt: Int? = nil) throws(StoreError) -> ReportOutcome {
        try updateRunning(id: id, attempt: attempt, setting: "progress = \(bind: progress)")
    }

    /// Stores an intermediate output of a running task (Nextcloud's `stream-result`) in its
    /// `output`, where `GET task/{id}` shows it while the task runs; the final result replaces
    /// it. Fenced by `attempt`, extends the lease and answers a cancelled task as progress does.
    public func reportIntermediateOutput(id: Int64, output: JSONObject, attempt: Int? = nil) throws(StoreError) -> ReportOutcome {
        try updateRunning(id: id, attempt: attempt, setting: "output = \(bind: JSONValue.object(output).serializedString())")
    }

    /// Applies `setting` to a running task (the claim `attempt` names, when given) and extends its
    /// lease; when nothing matched, the lifecycle says why (as for progress).
    private func updateRunning(id: Int64, attempt: Int?, setting: PostgresQuery) throws(StoreError) -> ReportOutcome {
        try withConnection { connection in
            let updated = try connection.query(
                """
                UPDATE tasks
                SET \(fragment: setting), last_updated = now(),
                    lease_expires_at = now() + make_interval(secs => coalesce(lease_seconds, 0))
                WHERE id = \(bind: id) AND status = \(TaskStatus.running) AND (\(bind: attempt)::integer IS NULL
                    OR attempt = \(bind: attempt))
                RETURNING \(unescaped: TaskColumns.tasks)
                """)
            if let row = updated.rows.first { return .accepted(try TaskColumns.decode(row)) }
            return try Self.outcomeWithoutUpdate(for: .progress, id: id, on: connection)
        }
    }

    /// Records the result of a running task, once: the conditional update lets exactly one
    /// report move the task out of RUNNING; every later report finds it finished and is refused.
    /// `attempt` fences stale workers as in `reportProgress`. A retryable failure follows `retryPolicy`.
    public func reportResult(
        id: Int64, result: TaskResult, attempt: Int? = nil, retryPolicy: RetryPolicy = RetryPolicy()
    ) throws(StoreError) -> ReportOutcome {
        try withConnectionRetryingDeadlocks { connection in
            try Self.recordResult(
                TaskReport(taskID: id, result: result, attempt: attempt), policy: retryPolicy, on: connection)
        }
    }

    /// Records several results in ONE transaction (one commit, the expensive part), each with the
    /// same rules as `reportResult`, and answers each report's outcome in the order given.
    ///
    /// Successes and plain failures are applied by one statement for the whole batch (a
    /// statement per task costed more than the commit); it locks its rows in id order, so two
    /// batches touching the same tasks cannot deadlock. A task named twice is finished by its
    /// first report; the later ones, retryable failures (one statement each, as they follow the
    /// retry policy) and reports that matched nothing then go one by one, as `reportResult`.
    public func reportResults(
        _ reports: [TaskReport], retryPolicy: RetryPolicy = RetryPolicy()
    ) throws(StoreError) -> [ReportOutcome] {
        guard !reports.isEmpty else { return [] }
        var seen = Set<Int64>()
        var finishing: [Int] = []
        var oneByOne: [Int] = []
        for index in reports.indices {
            if case .retryableFailure = reports[index].result {
                oneByOne.append(index)
            } else if seen.insert(reports[index].taskID).inserted {
                finishing.append(index)
            } else {
                oneByOne.append(index)
            }
        }
        return try withConnectionRetryingDeadlocks { connection in
            try connection.transaction { connection in
                var outcomes = [ReportOutcome?](repeating: nil, count: reports.count)
                let finished = try Self.finish(finishing.map { reports[$0] }, on: connection)
                for index in finishing {
                    if let task = finished[reports[index].taskID] {
                        outcomes[index] = .accepted(task)
                    } else {
                        oneByOne.append(index)
                    }
                }
                for index in oneByOne.sorted(by: { reports[$0].taskID < reports[$1].taskID }) {
                    outcomes[index] = try Self.recordResult(reports[index], policy: retryPolicy, on: connection)
                }
                return outcomes.map { $0 ?? .notFound }
            }
        }
    }

    /// Applies successes and plain failures (each task at most once) in one statement; returns
    /// the tasks it finished by id. A report that matched nothing is absent.
    private static func finish(_ reports: [TaskReport], on connection: PostgresConnection) throws -> [Int64: TaskRecord] {
        guard !reports.isEmpty else { return [:] }
        var statuses: [Int] = [], outputs: [String?] = [], errors: [String?] = [], userFacing: [String?] = []
        for report in reports {
            switch report.result {
            case .success(let object):
                statuses.append(TaskStatus.successful.rawValue)
                outputs.append(JSONValue.object(object).serializedString())
                errors.append(nil)
                userFacing.append(nil)
            case .failure(let message, let userFacingMessage), .retryableFailure(let message, let userFacingMessage):
                statuses.append(TaskStatus.failed.rawValue)
                outputs.append(nil)
                errors.append(message)
                userFacing.append(userFacingMessage)
            }
        }
        let updated = try connection.query(
            finishManyQuery(
                ids: reports.map(\.taskID), statuses: statuses, outputs: outputs, errorMessages: errors,
                userFacingErrorMessages: userFacing, attempts: reports.map(\.attempt)))
        var finished: [Int64: TaskRecord] = [:]
        for row in updated.rows {
            let task = try TaskColumns.decode(row)
            finished[task.id] = task
        }
        return finished
    }

    /// `finishQuery` for many tasks, given element by element (an attempt nil: any claim); ids
    /// must be distinct.
    static func finishManyQuery(
        ids: [Int64], statuses: [Int], outputs: [String?], errorMessages: [String?], userFacingErrorMessages: [String?],
        attempts: [Int?]
    ) -> PostgresQuery {
        """
        WITH report AS (
            SELECT * FROM unnest(
                \(bind: ids)::bigint[], \(bind: statuses)::smallint[], \(bind: outputs)::text[],
                    \(bind: errorMessages)::text[],
                \(bind: userFacingErrorMessages)::text[], \(bind: attempts)::integer[])
                AS report (id, status, output, error_message, user_facing_error_message, attempt)
        ), locked AS MATERIALIZED (
            SELECT tasks.id FROM tasks JOIN report ON report.id = tasks.id
            WHERE tasks.status = \(TaskStatus.running) AND (report.attempt IS NULL OR tasks.attempt = report.attempt)
            ORDER BY tasks.id
            FOR UPDATE OF tasks
        )
        UPDATE tasks
        SET status = report.status, output = report.output, error_message = report.error_message,
            user_facing_error_message = report.user_facing_error_message,
            progress = CASE WHEN report.status = \(TaskStatus.successful) THEN 1 ELSE tasks.progress END,
            ended_at = now(), last_updated = now(), lease_expires_at = NULL
        FROM report JOIN locked ON locked.id = report.id
        WHERE tasks.id = report.id AND tasks.status = \(TaskStatus.running)
            AND (report.attempt IS NULL OR tasks.attempt = report.attempt)
        RETURNING \(unescaped: TaskColumns.tasks)
        """
    }

    static func recordResult(
        _ report: TaskReport, policy: RetryPolicy, on connection: PostgresConnection
    ) throws -> ReportOutcome {
        let status: TaskStatus
        let output: String?
        let errorMessage: String?
        let userFacingErrorMessage: String?
        switch report.result {
        case .success(let object):
            (status, output, errorMessage, userFacingErrorMessage) =
                (.successful, JSONValue.object(object).serializedString(), nil, nil)
        case .failure(let message, let userFacing):
            (status, output, errorMessage, userFacingErrorMessage) = (.failed, nil, message, userFacing)
        case .retryableFailure(let message, let userFacing):
            return try retry(report, errorMessage: message, userFacingErrorMessage: userFacing, policy: policy, on: connection)
        }
        let updated = try connection.query(
            finishQuery(
                id: report.taskID, status: status, output: output, errorMessage: errorMessage,
                userFacingErrorMessage: userFacingErrorMessage, attempt: report.attempt))
        if let row = updated.rows.first { return .accepted(try TaskColumns.decode(row)) }
        return try outcomeWithoutUpdate(for: .result, id: report.taskID, on: connection)
    }

    /// Finishes a running task (`attempt` nil: whichever claim). `package`: the benchmark runs it directly.
    package static func finishQuery(
        id: Int64, status: TaskStatus, output: String?, errorMessage: String?, userFacingErrorMessage: String?, attempt: Int?
    ) -> PostgresQuery {
        """
        UPDATE tasks
        SET status = \(bind: status.rawValue)::smallint, output = \(bind: output), error_message = \(bind: errorMessage),
            user_facing_error_message = \(bind: userFacingErrorMessage),
            progress = CASE WHEN \(bind: status.rawValue)::smallint = \(TaskStatus.successful) THEN 1 ELSE progress END,
            ended_at = now(), last_updated = now(), lease_expires_at = NULL
        WHERE id = \(bind: id) AND status = \(TaskStatus.running) AND (\(bind: attempt)::integer IS NULL
            OR attempt = \(bind: attempt))
        RETURNING \(unescaped: TaskColumns.tasks)
        """
    }

    /// Puts a running task back in the queue after a backoff of `base * 2^(attempt-1)` seconds,
    /// capped, times a random factor in [0.5, 1] so that tasks failing together do not return
    /// together; on the last allowed attempt the task fails instead. Attempts count from the
    /// operator's last retry (`retry_base`).
    private static func retry(
        _ report: TaskReport, errorMessage: String, userFacingErrorMessage: String?, policy: RetryPolicy,
        on connection: PostgresConnection
    ) throws -> ReportOutcome {
        let updated = try connection.query(
            """
            UPDATE tasks
            SET status = CASE WHEN attempt - retry_base >= \(bind: policy.maxAttempts) THEN \(TaskStatus.failed)
                              ELSE \(TaskStatus.scheduled) END,
                run_after = CASE WHEN attempt - retry_base >= \(bind: policy.maxAttempts) THEN NULL
                    ELSE now() + make_interval(secs => least(\(bind: policy.maxDelaySeconds)::float8, \(bind: policy.baseDelaySeconds)::float8 * power(2, attempt - retry_base - 1))
                                                      * (0.5 + random() / 2)) END,
                ended_at = CASE WHEN attempt - retry_base >= \(bind: policy.maxAttempts) THEN now() END,
                progress = CASE WHEN attempt - retry_base >= \(bind: policy.maxAttempts) THEN progress END,
                -- An intermediate output belongs to the attempt that wrote it.
                output = NULL,
                error_message = \(bind: errorMessage), user_facing_error_message = \(bind: userFacingErrorMessage),
                lease_expires_at = NULL, last_updated = now(),
                -- Kept on the final failure: the attempt history reads a cleared claim as the reaper's.
                claimed_by = CASE WHEN attempt - retry_base >= \(bind: policy.maxAttempts) THEN claimed_by END
            WHERE id = \(bind: report.taskID) AND status = \(TaskStatus.running)
                AND (\(bind: report.attempt)::integer IS NULL OR attempt = \(bind: report.attempt))
            RETURNING \(unescaped: TaskColumns.tasks)
            """)
        if let row = updated.rows.first { return .accepted(try TaskColumns.decode(row)) }
        return try outcomeWithoutUpdate(for: .result, id: report.taskID, on: connection)
    }

    /// When a conditional update matched nothing, reads the task and lets the lifecycle say why.
    private static func outcomeWithoutUpdate(
        for event: TaskEvent, id: Int64, on connection: PostgresConnection
    ) throws -> ReportOutcome {
        guard let task = try task(id: id, on: connection) else { return .notFound }
        switch TaskLifecycle.transition(for: event, from: task.status) {
        case .answerUnchanged: return .unchanged(task)
        // `.apply` here means the report named an older claim (a stale worker), or the task
        // changed between the two statements; either way the report lost and changes nothing.
        case .apply, .conflict: return .conflict(task)
        }
    }
}
