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

    /// Reads a status as operators write it: the wire name (`STATUS_FAILED`), without its
    /// prefix in any case (`failed`), or the number (`4`).
    public init?(operatorName text: String) {
        let upper = text.uppercased()
        guard let status = Self.allCases.first(where: {
            $0.wireName == upper || $0.wireName == "STATUS_" + upper || String($0.rawValue) == text
        }) else { return nil }
        self = status
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
