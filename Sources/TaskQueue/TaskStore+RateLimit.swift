import Postgres

/// A per-subject limit on scheduled tasks: at most `limit` in each fixed window of
/// `periodSeconds`, counted in PostgreSQL so that every server process shares it.
public struct ScheduleRateLimit: Sendable, Equatable {
    public var limit: Int
    public var periodSeconds: Int

    public init(limit: Int, periodSeconds: Int) {
        self.limit = limit
        self.periodSeconds = periodSeconds
    }

    /// A limit of 0 (or a period of 0) turns the check off.
    public var isEnabled: Bool { limit > 0 && periodSeconds > 0 }
}

/// Whether a schedule may go ahead.
public enum RateLimitDecision: Sendable, Equatable {
    case allowed
    /// Over the limit: nothing was counted; the current window ends in `retryAfterSeconds`.
    case limited(retryAfterSeconds: Int)
}

extension TaskStore {
    /// Counts `count` new tasks against `subject`'s current window if they fit under the limit.
    ///
    /// One upsert decides and counts: it starts a new window when the old one is over, adds to
    /// the current one only while the total stays within the limit, and otherwise changes
    /// nothing. Concurrent calls for one subject queue on the row lock and each sees the
    /// count the previous one left, so no two calls can both take the last slot.
    public func consumeScheduleQuota(
        subject: String, count: Int, limit: ScheduleRateLimit
    ) throws(StoreError) -> RateLimitDecision {
        try withConnection { connection in
            let counted = try connection.query(
                """
                INSERT INTO schedule_rate_limits AS r (subject, window_start, scheduled)
                SELECT \(bind: subject)::text, now(),
                    \(bind: count)::integer WHERE \(bind: count)::integer <= \(bind: limit.limit)::integer
                ON CONFLICT (subject) DO UPDATE SET
                    window_start = CASE WHEN r.window_start <= now() - make_interval(secs => \(bind: limit.periodSeconds)::integer)
                                        THEN now() ELSE r.window_start END,
                    scheduled = CASE WHEN r.window_start <= now() - make_interval(secs => \(bind: limit.periodSeconds)::integer)
                                     THEN \(bind: count)::integer ELSE r.scheduled + \(bind: count)::integer END
                WHERE r.window_start <= now() - make_interval(secs => \(bind: limit.periodSeconds)::integer)
                    OR r.scheduled + \(bind: count)::integer <= \(bind: limit.limit)::integer
                RETURNING scheduled
                """)
            if !counted.rows.isEmpty { return .allowed }
            let window = try connection.query(
                """
                SELECT ceil(extract(epoch FROM window_start + make_interval(secs => \(bind: limit.periodSeconds)::integer) - now()))::integer AS remaining
                FROM schedule_rate_limits WHERE subject = \(bind: subject)
                """)
            let remaining = window.rows.first?.int("remaining") ?? limit.periodSeconds
            return .limited(retryAfterSeconds: min(max(remaining, 1), limit.periodSeconds))
        }
    }

    /// Gives back `count` tasks taken by `consumeScheduleQuota` that were not scheduled after
    /// all. Never below zero, also if the window was restarted in between.
    public func returnScheduleQuota(subject: String, count: Int) throws(StoreError) {
        try withConnection { connection in
            _ = try connection.query(
                "UPDATE schedule_rate_limits SET scheduled = greatest(scheduled - \(bind: count)::integer, 0) WHERE subject = \(bind: subject)")
        }
    }

    /// Deletes counters whose window ended more than `periodSeconds` ago: they would be
    /// restarted on next use anyway. Returns how many.
    @discardableResult
    public func expireRateLimitWindows(periodSeconds: Int) throws(StoreError) -> Int {
        try withConnection { connection in
            try connection.query(
                "DELETE FROM schedule_rate_limits WHERE window_start < now() - make_interval(secs => \(bind: periodSeconds * 2)::integer)"
            ).affectedRows
        }
    }
}
