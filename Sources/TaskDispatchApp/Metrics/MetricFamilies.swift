import OCSAPI
import TaskQueue

/// Every metric family the server exports, in one table: its name, its help text, and for
/// histograms its buckets. The code that counts names a family; the exporter takes the rest
/// from here (so every family has one help text, as Prometheus expects).
enum MetricFamilies {
    struct Family {
        let help: String
        var buckets: [Double] = []
    }

    /// Seconds, from a few milliseconds (a claim, a request) to an hour (a long AI job).
    static let secondsBuckets: [Double] = [
        0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600,
    ]
    /// Waits for a pooled connection: usually none, a busy pool some milliseconds.
    static let poolWaitBuckets: [Double] = [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]

    static let tasks = "taskdispatch_tasks"
    static let oldestScheduledAge = "taskdispatch_oldest_scheduled_age_seconds"
    static let longPollsWaiting = "taskdispatch_long_polls_waiting"
    static let webhooksPending = "taskdispatch_webhooks_pending"
    static let webhookDeliveries = "taskdispatch_webhook_deliveries_total"
    static let triggerCalls = "taskdispatch_trigger_calls_total"
    static let poolConnections = "taskdispatch_db_pool_connections"
    static let poolWait = "taskdispatch_db_pool_wait_seconds"

    static let all: [String: Family] = [
        tasks: Family(
            help: "Tasks in the database by type and status, from the maintained counters: cluster-wide, the same in every server process."),
        oldestScheduledAge: Family(
            help: "Seconds since the oldest scheduled task of the type was scheduled: cluster-wide, the same in every server process."),
        TaskMetrics.Name.claimed: Family(help: "Tasks claimed through this process, by type."),
        TaskMetrics.Name.results: Family(
            help: "Result reports to this process by type and outcome (successful, failed, retried, refused)."),
        TaskMetrics.Name.leaseExpirations: Family(help: "Leases this process's reaper found expired, by type."),
        TaskMetrics.Name.queueWait: Family(
            help: "Seconds from scheduling to the first claim, of tasks claimed through this process.", buckets: secondsBuckets),
        TaskMetrics.Name.runTime: Family(
            help: "Seconds from the last claim to the result, of tasks finished through this process.", buckets: secondsBuckets),
        "taskdispatch_http_requests_total": Family(help: "HTTP requests answered by this process, by route pattern and status."),
        "taskdispatch_http_request_duration_seconds": Family(
            help: "Seconds from a request's arrival to its answer, by route pattern (long polls include their wait).",
            buckets: secondsBuckets),
        longPollsWaiting: Family(help: "Long polls waiting in this process."),
        webhooksPending: Family(help: "Webhook deliveries owed: cluster-wide, the same in every server process."),
        webhookDeliveries: Family(help: "Webhook calls made by this process, by outcome (delivered, retry, failed)."),
        triggerCalls: Family(help: "ExApp trigger calls made by this process, by outcome (answered, retry, failed)."),
        poolConnections: Family(help: "This process's database connections by state (idle, in_use)."),
        poolWait: Family(help: "Seconds a request waited for a database connection of this process's pool.", buckets: poolWaitBuckets),
    ]
}
