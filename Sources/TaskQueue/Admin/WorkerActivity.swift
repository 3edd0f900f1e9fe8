import Glibc
import Postgres
import Synchronization

/// What each ExApp did last, as this process saw it: kept in memory on the request path (a
/// lock and a dictionary write) and written to `worker_activity` every few seconds by
/// ``TaskStore/flushWorkerActivity(_:longPollsWaiting:)``, one row per ExApp and process, so
/// that every process answers the same.
public final class WorkerActivity: Sendable {
    struct Seen: Equatable {
        var request: Int64?
        var claim: Int64?
        var result: Int64?
    }

    /// This process's name in `worker_activity`.
    public let serverID: String
    private let seen = Mutex<[String: Seen]>([:])

    public init(serverID: String = WorkerActivity.newServerID()) {
        self.serverID = serverID
    }

    /// A random name for this process.
    public static func newServerID() -> String {
        (0..<4).map { _ in String(UInt32.random(in: .min ... .max), radix: 16) }.joined()
    }

    public func requested(by appID: String) { note(appID) { $0.request = $1 } }
    public func claimed(by appID: String) { note(appID) { $0.request = $1; $0.claim = $1 } }
    public func reported(by appID: String) { note(appID) { $0.request = $1; $0.result = $1 } }

    private func note(_ appID: String, _ update: (inout Seen, Int64) -> Void) {
        let now = Int64(time(nil))
        seen.withLock { seen in update(&seen[appID, default: Seen()], now) }
    }

    /// What was seen since the last call, and forgets it.
    func takeSeen() -> [String: Seen] {
        seen.withLock { seen in
            defer { seen = [:] }
            return seen
        }
    }
}

/// One ExApp as the workers view shows it.
public struct WorkerSummary: Sendable, Equatable {
    public var appID: String
    /// Unix seconds.
    public var lastRequestAt: Int64?
    public var lastClaimAt: Int64?
    public var lastResultAt: Int64?
    public var runningTasks: Int64
    public var longPollsWaiting: Int64
    /// Where trigger calls go (`app add --url`); nil: none.
    public var triggerURL: String? = nil
    /// The last trigger call the app answered with a 2xx, unix seconds.
    public var lastTriggeredAt: Int64? = nil
    /// Its providers' trigger requests owed, recently answered, failing or given up.
    public var triggers: [ProviderTriggerState] = []
}

extension TaskStore {
    /// How recently a process must have written its row for its waiting long polls to count.
    static let activityFreshSeconds = 15

    /// Writes what `activity` saw since the last flush, and this process's waiting long polls
    /// per ExApp (rows of ExApps no longer waiting are set to 0). Timestamps only move forward.
    public func flushWorkerActivity(_ activity: WorkerActivity, longPollsWaiting: [String: Int]) throws(StoreError) {
        let seen = activity.takeSeen()
        let apps = Set(seen.keys).union(longPollsWaiting.keys).sorted()
        try withConnection { connection in
            try connection.transaction { connection in
                if !apps.isEmpty {
                    _ = try connection.query(
                        """
                        INSERT INTO worker_activity AS activity
                            (app_id, server_id, last_request_at, last_claim_at, last_result_at, long_polls_waiting)
                        SELECT app_id, \(bind: activity.serverID), to_timestamp(request), to_timestamp(claim),
                               to_timestamp(result), waiting
                        FROM unnest(\(bind: apps)::text[], \(bind: apps.map { seen[$0]?.request })::bigint[],
                                    \(bind: apps.map { seen[$0]?.claim })::bigint[], \(bind: apps.map { seen[$0]?.result })::bigint[],
                                    \(bind: apps.map { longPollsWaiting[$0] ?? 0 })::integer[])
                            AS seen (app_id, request, claim, result, waiting)
                        ON CONFLICT (app_id, server_id) DO UPDATE SET
                            last_request_at = greatest(activity.last_request_at, excluded.last_request_at),
                            last_claim_at = greatest(activity.last_claim_at, excluded.last_claim_at),
                            last_result_at = greatest(activity.last_result_at, excluded.last_result_at),
                            long_polls_waiting = excluded.long_polls_waiting, updated_at = now()
                        """)
                }
                _ = try connection.query(
                    """
                    UPDATE worker_activity SET long_polls_waiting = 0, updated_at = now()
                    WHERE server_id = \(bind: activity.serverID) AND long_polls_waiting > 0
                        AND NOT app_id = ANY(\(bind: apps)::text[])
                    """)
            }
        }
    }

    /// Per ExApp that was ever seen or runs tasks: its last request, claim and result (over
    /// every process), the tasks it runs now, and its long polls waiting now (processes that
    /// wrote in the last ``activityFreshSeconds``).
    public func workers() throws(StoreError) -> [WorkerSummary] {
        try withConnection { connection in
            try connection.query(
                """
                WITH seen AS (
                    SELECT app_id, max(last_request_at) AS last_request_at, max(last_claim_at) AS last_claim_at,
                           max(last_result_at) AS last_result_at,
                           coalesce(sum(long_polls_waiting) FILTER (
                               WHERE updated_at > now() - make_interval(secs => \(bind: Self.activityFreshSeconds))), 0) AS waiting
                    FROM worker_activity GROUP BY app_id
                ), running AS (
                    SELECT claimed_by AS app_id, count(*) AS running FROM tasks
                    WHERE status = \(TaskStatus.running) AND claimed_by IS NOT NULL
                    GROUP BY claimed_by
                ), triggered AS (
                    SELECT app_id, base_url, last_triggered_at FROM ex_apps
                    WHERE base_url IS NOT NULL OR last_triggered_at IS NOT NULL
                )
                SELECT coalesce(seen.app_id, running.app_id, triggered.app_id) AS app_id,
                       floor(extract(epoch FROM seen.last_request_at))::bigint AS last_request_at,
                       floor(extract(epoch FROM seen.last_claim_at))::bigint AS last_claim_at,
                       floor(extract(epoch FROM seen.last_result_at))::bigint AS last_result_at,
                       coalesce(running.running, 0) AS running, coalesce(seen.waiting, 0)::bigint AS waiting,
                       triggered.base_url, floor(extract(epoch FROM triggered.last_triggered_at))::bigint AS last_triggered_at
                FROM seen FULL JOIN running ON running.app_id = seen.app_id
                FULL JOIN triggered ON triggered.app_id = coalesce(seen.app_id, running.app_id)
                ORDER BY 1
                """
            ).rows.map { row in
                WorkerSummary(
                    appID: row.string("app_id") ?? "", lastRequestAt: row.int64("last_request_at"),
                    lastClaimAt: row.int64("last_claim_at"), lastResultAt: row.int64("last_result_at"),
                    runningTasks: row.int64("running") ?? 0, longPollsWaiting: row.int64("waiting") ?? 0,
                    triggerURL: row.string("base_url"), lastTriggeredAt: row.int64("last_triggered_at"))
            }
        }
    }

    /// Drops the rows of processes silent for a day (processes that stopped).
    public func deleteStaleWorkerActivity() throws(StoreError) {
        try withConnection { connection in
            _ = try connection.query("DELETE FROM worker_activity WHERE updated_at < now() - interval '1 day'")
        }
    }
}
