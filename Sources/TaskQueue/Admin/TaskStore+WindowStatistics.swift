import Postgres

/// What the attempts that ended in a time window say about one task type.
public struct TypeWindowStatistics: Sendable, Equatable {
    public var type: String
    /// Attempts that ended in the window, by outcome.
    public var succeeded: Int64
    public var failed: Int64
    public var retried: Int64
    public var leaseExpired: Int64
    public var cancelled: Int64
    /// Scheduled -> claimed, in seconds, of first attempts (nil without any).
    public var queueWait: Distribution?
    /// Claimed -> ended, in seconds.
    public var runTime: Distribution?
    /// Average stored (possibly compressed) size of the inputs and outputs, in bytes.
    public var averageInputBytes: Double?
    public var averageOutputBytes: Double?

    /// Tasks that finished: succeeded, failed for good, or cancelled while running.
    public var finished: Int64 { succeeded + failed + cancelled }

    /// Succeeded among those that succeeded or failed; nil when none did.
    public var successRate: Double? {
        succeeded + failed == 0 ? nil : Double(succeeded) / Double(succeeded + failed)
    }

    public struct Distribution: Sendable, Equatable {
        public var p50: Double
        public var p95: Double
        public var max: Double
    }
}

extension TaskStore {
    /// Per type, the attempts that ended in the last `windowSeconds`. Reads `task_attempts`
    /// through its BRIN index on `ended_at`: the window's rows only, never the whole history.
    public func windowStatistics(windowSeconds: Int) throws(StoreError) -> [TypeWindowStatistics] {
        try withConnection { connection in
            try connection.query(
                """
                SELECT type,
                    count(*) FILTER (WHERE outcome = 'succeeded') AS succeeded,
                    count(*) FILTER (WHERE outcome = 'failed') AS failed,
                    count(*) FILTER (WHERE outcome = 'retried') AS retried,
                    count(*) FILTER (WHERE outcome = 'lease_expired') AS lease_expired,
                    count(*) FILTER (WHERE outcome = 'cancelled') AS cancelled,
                    percentile_cont(0.5) WITHIN GROUP (ORDER BY queue_wait_seconds) AS wait_p50,
                    percentile_cont(0.95) WITHIN GROUP (ORDER BY queue_wait_seconds) AS wait_p95,
                    max(queue_wait_seconds) AS wait_max,
                    percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM ended_at - claimed_at)) AS run_p50,
                    percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM ended_at - claimed_at)) AS run_p95,
                    max(extract(epoch FROM ended_at - claimed_at))::float8 AS run_max,
                    avg(input_bytes)::float8 AS input_bytes, avg(output_bytes)::float8 AS output_bytes
                FROM task_attempts
                WHERE ended_at >= now() - make_interval(secs => \(bind: windowSeconds))
                GROUP BY type
                ORDER BY type
                """
            ).rows.map { row in
                func distribution(_ prefix: String) -> TypeWindowStatistics.Distribution? {
                    guard let p50 = row.double("\(prefix)_p50"), let p95 = row.double("\(prefix)_p95"),
                        let max = row.double("\(prefix)_max")
                    else { return nil }
                    return .init(p50: p50, p95: p95, max: max)
                }
                return TypeWindowStatistics(
                    type: row.string("type") ?? "", succeeded: row.int64("succeeded") ?? 0, failed: row.int64("failed") ?? 0,
                    retried: row.int64("retried") ?? 0, leaseExpired: row.int64("lease_expired") ?? 0,
                    cancelled: row.int64("cancelled") ?? 0, queueWait: distribution("wait"), runTime: distribution("run"),
                    averageInputBytes: row.double("input_bytes"), averageOutputBytes: row.double("output_bytes"))
            }
        }
    }
}

/// Nextcloud's two hourly health figures: how many claims of the last hour came late, and how
/// many results of the last hour were failures.
public struct PickupAndFailureCounts: Sendable, Equatable {
    /// First claims in the window (ended since, or still running).
    public var claimed: Int64
    /// Of those, how many waited longer than the threshold.
    public var pickedUpLate: Int64
    public var succeeded: Int64
    public var failed: Int64
}

extension TaskStore {
    /// First claims and results of the last `windowSeconds`; a claim came late when it waited
    /// longer than `lateSeconds`. Reads the window of `task_attempts` and the running tasks.
    public func pickupAndFailureCounts(windowSeconds: Int, lateSeconds: Int) throws(StoreError) -> PickupAndFailureCounts {
        try withConnection { connection in
            let row = try connection.query(
                """
                WITH ended AS (
                    SELECT attempt, outcome, queue_wait_seconds FROM task_attempts
                    WHERE ended_at >= now() - make_interval(secs => \(bind: windowSeconds))
                ), first_claims AS (
                    SELECT queue_wait_seconds AS waited FROM ended WHERE attempt = 1
                    UNION ALL
                    SELECT extract(epoch FROM started_at - scheduled_at)::float8 FROM tasks
                    WHERE status = \(TaskStatus.running) AND attempt = 1
                        AND started_at >= now() - make_interval(secs => \(bind: windowSeconds))
                )
                SELECT (SELECT count(*) FROM first_claims) AS claimed,
                       (SELECT count(*) FROM first_claims WHERE waited > \(bind: lateSeconds)) AS late,
                       (SELECT count(*) FROM ended WHERE outcome = 'succeeded') AS succeeded,
                       (SELECT count(*) FROM ended WHERE outcome = 'failed') AS failed
                """
            ).rows.first
            return PickupAndFailureCounts(
                claimed: row?.int64("claimed") ?? 0, pickedUpLate: row?.int64("late") ?? 0,
                succeeded: row?.int64("succeeded") ?? 0, failed: row?.int64("failed") ?? 0)
        }
    }
}
