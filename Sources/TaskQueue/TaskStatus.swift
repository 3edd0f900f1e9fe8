/// Where a task is in its life. The raw values 0 to 5 are Nextcloud's, so they can be stored
/// and compared as-is; 6 is this server's own.
public enum TaskStatus: Int, Sendable, CaseIterable, Comparable {
    case unknown = 0
    case scheduled = 1
    case running = 2
    case successful = 3
    case failed = 4
    case cancelled = 5
    /// Waiting for the tasks it depends on: never claimed. Nextcloud knows no such state, so
    /// clients see `STATUS_SCHEDULED` (the task has not started) and the extension fields
    /// `dependsOn` and `waitingFor`.
    case waiting = 6

    /// The string clients see in `Task.status`, e.g. `STATUS_SCHEDULED`.
    public var wireName: String {
        switch self {
        case .unknown: "STATUS_UNKNOWN"
        case .scheduled, .waiting: "STATUS_SCHEDULED"
        case .running: "STATUS_RUNNING"
        case .successful: "STATUS_SUCCESSFUL"
        case .failed: "STATUS_FAILED"
        case .cancelled: "STATUS_CANCELLED"
        }
    }

    /// The name the operator's views (admin API, metrics, CLI) use: the wire name, except
    /// `STATUS_WAITING`, so that a waiting task is told apart from a claimable one.
    public var adminName: String {
        self == .waiting ? "STATUS_WAITING" : wireName
    }

    /// Reads a status as operators write it: the admin name (`STATUS_FAILED`; `STATUS_SCHEDULED`
    /// is the claimable ones), without its prefix in any case (`failed`, `waiting`), or the
    /// number (`4`).
    public init?(operatorName text: String) {
        let upper = text.uppercased()
        guard let status = Self.allCases.first(where: {
            $0.adminName == upper || $0.adminName == "STATUS_" + upper || String($0.rawValue) == text
        }) else { return nil }
        self = status
    }

    /// A finished task never changes status again.
    public var isFinal: Bool {
        switch self {
        case .successful, .failed, .cancelled: true
        case .unknown, .scheduled, .running, .waiting: false
        }
    }

    public static func < (lhs: TaskStatus, rhs: TaskStatus) -> Bool { lhs.rawValue < rhs.rawValue }
}
