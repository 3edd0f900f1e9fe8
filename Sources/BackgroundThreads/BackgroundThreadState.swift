/// Where a ``BackgroundThread`` is in its life, and what a `start` or `stop` asks of it.
///
/// A plain value, so that every order of starts and stops can be checked without threads:
///
///     idle ──start──▶ running ──stop──▶ stopping ──thread exits──▶ stopped
///       │                └────────────thread exits──────────────────▲
///       └──────────────────────stop─────────────────────────────────┘
///
/// Nothing leaves `stopped`: a thread runs at most once, so a `start` after a `stop` does nothing.
public enum BackgroundThreadState: Sendable, Equatable, CaseIterable {
    /// Made, not started.
    case idle
    /// The thread runs and no stop was asked.
    case running
    /// A stop was asked; the thread has not exited yet.
    case stopping
    /// The thread has exited, or was stopped before it started.
    case stopped

    /// What the caller of `start` does next.
    public enum StartAction: Sendable, Equatable {
        /// Start the thread: this was the first start of an idle one.
        case startThread
        /// Nothing: the thread runs already, or was stopped.
        case none
    }

    /// What the caller of `stop` does next.
    public enum StopAction: Sendable, Equatable {
        /// Interrupt the thread's sleep and wait until it has exited.
        case interruptAndWait
        /// Return at once: never started, exited already, or an earlier stop is waiting for it.
        case none
    }

    /// A start: only an idle thread starts.
    public mutating func start() -> StartAction {
        guard self == .idle else { return .none }
        self = .running
        return .startThread
    }

    /// A stop: only the stop that finds the thread running waits for it.
    public mutating func stop() -> StopAction {
        switch self {
        case .idle:
            self = .stopped
            return .none
        case .running:
            self = .stopping
            return .interruptAndWait
        case .stopping, .stopped:
            return .none
        }
    }

    /// The thread's body returned, asked to or on its own.
    public mutating func threadExited() {
        precondition(self == .running || self == .stopping, "a thread exited that was not running")
        self = .stopped
    }

    /// Whether the body should wind up: a stop was asked (or the thread is gone).
    public var shouldStop: Bool {
        self == .stopping || self == .stopped
    }
}
