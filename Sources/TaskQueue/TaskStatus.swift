/// Where a task is in its life. The raw values are Nextcloud's, so they can be stored and compared as-is.
public enum TaskStatus: Int, Sendable, CaseIterable, Comparable {
    case unknown = 0
    case scheduled = 1
    case running = 2
    case successful = 3
    case failed = 4
    case cancelled = 5

    /// The string clients see in `Task.status`, e.g. `STATUS_SCHEDULED`.
    public var wireName: String {
        switch self {
        case .unknown: "STATUS_UNKNOWN"
        case .scheduled: "STATUS_SCHEDULED"
        case .running: "STATUS_RUNNING"
        case .successful: "STATUS_SUCCESSFUL"
        case .failed: "STATUS_FAILED"
        case .cancelled: "STATUS_CANCELLED"
        }
    }

    /// A finished task never changes status again.
    public var isFinal: Bool {
        switch self {
        case .successful, .failed, .cancelled: true
        case .unknown, .scheduled, .running: false
        }
    }

    public static func < (lhs: TaskStatus, rhs: TaskStatus) -> Bool { lhs.rawValue < rhs.rawValue }
}
