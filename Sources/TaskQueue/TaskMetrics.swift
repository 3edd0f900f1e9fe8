import CoreMetrics
import Synchronization

/// What this process counts about tasks, through the swift-metrics API: claims, results by
/// outcome, lease expirations, queue waits and run times, each by task type. The application
/// chooses the exporter by the factory it gives; ``disabled`` costs nothing.
///
/// Handles are made once per type (and outcome) and kept: making one asks the factory, which
/// takes a lock and looks the series up; keeping them makes a count one lock here and an atomic
/// add there.
public final class TaskMetrics: Sendable {
    /// The families' names, which the exporter's help table uses too.
    public enum Name {
        public static let claimed = "taskdispatch_tasks_claimed_total"
        public static let results = "taskdispatch_task_results_total"
        public static let leaseExpirations = "taskdispatch_lease_expirations_total"
        public static let queueWait = "taskdispatch_task_queue_wait_seconds"
        public static let runTime = "taskdispatch_task_run_seconds"
    }

    /// How a worker's report ended, as the results counter labels it.
    public enum ResultOutcome: String, Sendable, CaseIterable {
        case successful, failed, retried, refused
    }

    private struct TypeHandles: Sendable {
        let claimed: Counter
        let leaseExpirations: Counter
        let queueWait: Timer
        let runTime: Timer
        let results: [ResultOutcome: Counter]
    }

    private let factory: any MetricsFactory
    private let handles = Mutex<[String: TypeHandles]>([:])

    public init(factory: any MetricsFactory) {
        self.factory = factory
    }

    /// Counts nothing.
    public static let disabled = TaskMetrics(factory: NOOPMetricsHandler.instance)

    /// Tasks just claimed: one claim each, and how long each waited (first attempts).
    func claimed(_ tasks: [TaskRecord]) {
        for task in tasks {
            let handles = self.handles(task.type)
            handles.claimed.increment()
            if task.attempt == 1, let waited = task.queueWaitSeconds { handles.queueWait.recordSeconds(waited) }
        }
    }

    /// A worker's report on a task of `type`, and for one that ended its attempt, how long it ran.
    func result(type: String, _ outcome: ResultOutcome, ranSeconds: Double? = nil) {
        let handles = self.handles(type)
        handles.results[outcome]?.increment()
        if let ranSeconds { handles.runTime.recordSeconds(ranSeconds) }
    }

    /// A report on the task `task` was applied.
    func result(_ task: TaskRecord) {
        let outcome: ResultOutcome = switch task.status {
        case .successful: .successful
        case .scheduled: .retried
        default: .failed
        }
        result(type: task.type, outcome, ranSeconds: task.runSeconds)
    }

    /// Leases the reaper found expired, by type.
    public func leasesExpired(_ countsByType: [String: Int]) {
        for (type, count) in countsByType { handles(type).leaseExpirations.increment(by: Int64(count)) }
    }

    private func handles(_ type: String) -> TypeHandles {
        if let known = handles.withLock({ $0[type] }) { return known }
        let dimensions = [("type", type)]
        let made = TypeHandles(
            claimed: Counter(label: Name.claimed, dimensions: dimensions, factory: factory),
            leaseExpirations: Counter(label: Name.leaseExpirations, dimensions: dimensions, factory: factory),
            queueWait: Timer(label: Name.queueWait, dimensions: dimensions, factory: factory),
            runTime: Timer(label: Name.runTime, dimensions: dimensions, factory: factory),
            results: Dictionary(uniqueKeysWithValues: ResultOutcome.allCases.map { outcome in
                (outcome, Counter(label: Name.results, dimensions: dimensions + [("outcome", outcome.rawValue)], factory: factory))
            }))
        return handles.withLock { handles in
            if let raced = handles[type] { return raced }
            handles[type] = made
            return made
        }
    }
}

extension Timer {
    func recordSeconds(_ seconds: Double) {
        recordNanoseconds(Int64(max(seconds, 0) * 1_000_000_000))
    }
}
