import Postgres

/// Which tasks an operator means: every field narrows, nil or empty means any. Times are unix
/// seconds; `after` bounds are inclusive, `before` bounds exclusive.
public struct TaskFilter: Sendable, Equatable {
    public var statuses: [TaskStatus] = []
    public var types: [String] = []
    public var userID: String?
    public var appID: String?
    public var customID: String?
    /// The provider of the task's current or last claim.
    public var providerID: String?
    public var scheduledAfter: Int64?
    public var scheduledBefore: Int64?
    public var endedAfter: Int64?
    public var endedBefore: Int64?
    /// A piece of the error message, matched literally and case-insensitively.
    public var errorContains: String?

    public init() {}

    /// The conditions other than type and status, on columns of `tasks`, AND-ed (`TRUE` when none).
    var otherConditions: PostgresQuery {
        var conditions: [PostgresQuery] = []
        if let userID { conditions.append("tasks.user_id = \(bind: userID)") }
        if let appID { conditions.append("tasks.app_id = \(bind: appID)") }
        if let customID { conditions.append("tasks.custom_id = \(bind: customID)") }
        if let providerID { conditions.append("tasks.claimed_provider = \(bind: providerID)") }
        if let scheduledAfter { conditions.append("tasks.scheduled_at >= to_timestamp(\(bind: scheduledAfter)::bigint)") }
        if let scheduledBefore { conditions.append("tasks.scheduled_at < to_timestamp(\(bind: scheduledBefore)::bigint)") }
        if let endedAfter { conditions.append("tasks.ended_at >= to_timestamp(\(bind: endedAfter)::bigint)") }
        if let endedBefore { conditions.append("tasks.ended_at < to_timestamp(\(bind: endedBefore)::bigint)") }
        if let errorContains {
            // strpos on lowered text: a literal match, no LIKE wildcards to escape.
            conditions.append("strpos(lower(tasks.error_message), lower(\(bind: errorContains))) > 0")
        }
        guard var joined = conditions.first else { return "TRUE" }
        for condition in conditions.dropFirst() {
            joined = "\(fragment: joined) AND \(fragment: condition)"
        }
        return joined
    }

    /// The conditions on type and on `statuses` (`TRUE` for each that is not narrowed).
    func typeAndStatusConditions(_ statuses: [TaskStatus]) -> PostgresQuery {
        let types: PostgresQuery = self.types.isEmpty ? "TRUE" : "tasks.type = ANY(\(bind: self.types)::text[])"
        let status: PostgresQuery = statuses.count == TaskStatus.allCases.count
            ? "TRUE" : "tasks.status = ANY(\(bind: statuses.map(\.rawValue))::smallint[])"
        return "\(fragment: types) AND \(fragment: status)"
    }

    /// The statuses to look at: the filter's, narrowed to `allowed` when given.
    func statuses(within allowed: [TaskStatus]?) -> [TaskStatus] {
        let wanted = statuses.isEmpty ? TaskStatus.allCases : statuses
        guard let allowed else { return wanted }
        return wanted.filter(allowed.contains)
    }
}
