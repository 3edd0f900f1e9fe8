import Postgres

/// What the tasks that ended in a time window, and the attempts requeued in it, say about one task type.
public struct TypeWindowStatistics: Sendable, Equatable {
    public var type: String
    /// Tasks that ended in the window, by status, and attempts requeued in it.
    public var succeeded: Int64
    public var failed: Int64
    public var retried: Int64
    public var leaseExpired: Int64
    public var cancelled: Int64
    /// Scheduled -> the claim that ended the task, in seconds (nil without any).
    public var queueWait: Distribution?
    /// Claimed -> ended, in seconds.
    public var runTime: Distribution?
    /// Average stored (possibly compressed) size of the inputs and outputs, in bytes.
    public var averageInputBytes: Double?
    public var averageOutputBytes: Double?

    /// Tasks that finished: succeeded, failed for good, or cancelled.
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
    /// Per type, the tasks that ended in the last `windowSeconds` (read through
    /// `tasks_cleanup_idx`, so tasks kept with `allowCleanup` false are not counted), and the
    /// attempts requeued in it (the history's window, through its BRIN index): never the whole
    /// table.
    public func windowStatistics(windowSeconds: Int) throws(StoreError) -> [TypeWindowStatistics] {
        try withConnection { connection in
            try connection.query(
                """
                WITH ended AS (
                    SELECT type, status, extract(epoch FROM started_at - scheduled_at)::float8 AS waited,
                           extract(epoch FROM ended_at - started_at)::float8 AS ran,
                           pg_column_size(input) AS input_bytes, pg_column_size(output) AS output_bytes
                    FROM tasks
                    WHERE status BETWEEN \(TaskStatus.successful) AND \(TaskStatus.cancelled) AND allow_cleanup
                        AND last_updated >= now() - make_interval(secs => \(bind: windowSeconds))
                        AND ended_at >= now() - make_interval(secs => \(bind: windowSeconds))
                ), by_type AS (
                    SELECT type,
                        count(*) FILTER (WHERE status = \(TaskStatus.successful)) AS succeeded,
                        count(*) FILTER (WHERE status = \(TaskStatus.failed)) AS failed,
                        count(*) FILTER (WHERE status = \(TaskStatus.cancelled)) AS cancelled,
                        percentile_cont(0.5) WITHIN GROUP (ORDER BY waited) AS wait_p50,
                        percentile_cont(0.95) WITHIN GROUP (ORDER BY waited) AS wait_p95,
                        max(waited) AS wait_max,
                        percentile_cont(0.5) WITHIN GROUP (ORDER BY ran) AS run_p50,
                        percentile_cont(0.95) WITHIN GROUP (ORDER BY ran) AS run_p95,
                        max(ran) AS run_max,
                        avg(input_bytes)::float8 AS input_bytes, avg(output_bytes)::float8 AS output_bytes
                    FROM ended GROUP BY type
                ), requeued AS (
                    SELECT type, count(*) FILTER (WHERE outcome = 'retried') AS retried,
                           count(*) FILTER (WHERE outcome = 'lease_expired') AS lease_expired
                    FROM task_attempts
                    WHERE ended_at >= now() - make_interval(secs => \(bind: windowSeconds))
                    GROUP BY type
                )
                SELECT coalesce(by_type.type, requeued.type) AS type, by_type.*,
                       coalesce(requeued.retried, 0) AS retried, coalesce(requeued.lease_expired, 0) AS lease_expired
                FROM by_type FULL JOIN requeued ON requeued.type = by_type.type
                ORDER BY 1
                """
            ).rows.map { row in
                func distribution(_ prefix: String) -> TypeWindowStatistics.Distribution? {
                    guard let p50 = row.double("\(prefix)_p50"), let p95 = row.double("\(prefix)_p95"),
                        let max = row.double("\(prefix)_max")
                    else { return nil }
                    return .init(p50: p50, p95: p95, max: max)
                }
                return TypeWindowStatistics(
                    type: row.string(at: 0) ?? "", succeeded: row.int64("succeeded") ?? 0, failed: row.int64("failed") ?? 0,
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
    /// Tasks claimed that ended in the window or are running.
    public var claimed: Int64
    /// Of those, how many waited longer than the threshold.
    public var pickedUpLate: Int64
    public var succeeded: Int64
    public var failed: Int64
}

extension TaskStore {
    /// Claims and results of the last `windowSeconds`: the tasks that ended in it (through
    /// `tasks_cleanup_idx`) and those running, each with its wait from scheduling to its claim;
    /// a claim came late when it waited longer than `lateSeconds`.
    public func pickupAndFailureCounts(windowSeconds: Int, lateSeconds: Int) throws(StoreError) -> PickupAndFailureCounts {
        try withConnection { connection in
            let row = try connection.query(
                """
                WITH claimed AS (
                    SELECT status, extract(epoch FROM started_at - scheduled_at) AS waited FROM tasks
                    WHERE status BETWEEN \(TaskStatus.successful) AND \(TaskStatus.cancelled) AND allow_cleanup AND started_at IS NOT NULL
                        AND last_updated >= now() - make_interval(secs => \(bind: windowSeconds))
                    UNION ALL
                    SELECT status, extract(epoch FROM started_at - scheduled_at) FROM tasks
                    WHERE status = \(TaskStatus.running)
                )
                SELECT count(*) AS claimed, count(*) FILTER (WHERE waited > \(bind: lateSeconds)) AS late,
                       count(*) FILTER (WHERE status = \(TaskStatus.successful)) AS succeeded,
                       count(*) FILTER (WHERE status = \(TaskStatus.failed)) AS failed
                FROM claimed
                """
            ).rows.first
            return PickupAndFailureCounts(
                claimed: row?.int64("claimed") ?? 0, pickedUpLate: row?.int64("late") ?? 0,
                succeeded: row?.int64("succeeded") ?? 0, failed: row?.int64("failed") ?? 0)
        }
    }
}
