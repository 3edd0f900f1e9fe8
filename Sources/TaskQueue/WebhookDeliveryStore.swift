import Postgres

/// The webhook outbox in PostgreSQL (`webhook_deliveries`, filled by a trigger when a task with
/// a webhook finishes): claiming due deliveries and recording their outcome. Safe from several
/// server processes at once: claims take rows with `FOR UPDATE SKIP LOCKED` and push their next
/// attempt past the call's timeout, so no two senders call for the same row at once.
public struct WebhookDeliveryStore: Sendable {
    let tasks: TaskStore

    public init(pool: PostgresConnectionPool) {
        tasks = TaskStore(pool: pool)
    }

    init(tasks: TaskStore) {
        self.tasks = tasks
    }

    /// Claims up to `limit` due deliveries with their finished task, each for `leaseSeconds`
    /// (the request timeout plus a margin): counting the attempt now means a sender that dies
    /// mid-call still used it, and the row is due again once the lease passes.
    public func claimDue(limit: Int, leaseSeconds: Double) throws(StoreError) -> [WebhookDelivery] {
        try tasks.withConnection { connection in
            try connection.query(
                """
                WITH due AS MATERIALIZED (
                    SELECT id FROM webhook_deliveries
                    WHERE status = 'pending' AND next_attempt_at <= now()
                    ORDER BY next_attempt_at
                    LIMIT \(bind: limit)
                    FOR UPDATE SKIP LOCKED
                ), claimed AS (
                    UPDATE webhook_deliveries AS delivery
                    SET attempts = delivery.attempts + 1,
                        next_attempt_at = now() + make_interval(secs => \(bind: leaseSeconds)::float8)
                    FROM due
                    WHERE delivery.id = due.id
                    RETURNING delivery.id AS row_id, delivery.delivery_id::text AS delivery_id, delivery.task_id,
                              delivery.uri, delivery.method, delivery.attempts
                )
                SELECT claimed.row_id, claimed.delivery_id, claimed.uri, claimed.method, claimed.attempts,
                       \(unescaped: TaskColumns.list(qualifiedBy: "tasks"))
                FROM claimed JOIN tasks ON tasks.id = claimed.task_id
                ORDER BY claimed.row_id
                """
            ).rows.map { row throws(StoreError) in
                guard let rowID = row.int64("row_id"), let deliveryID = row.string("delivery_id"),
                    let uri = row.string("uri"), let method = row.string("method"), let attempt = row.int("attempts")
                else { throw StoreError.corruptRow("a webhook delivery row lacks a required column") }
                return WebhookDelivery(
                    rowID: rowID, deliveryID: deliveryID, uri: uri, method: method, attempt: attempt,
                    task: try TaskColumns.decode(row))
            }
        }
    }

    /// Records a 2xx answer. Not fenced by attempt: whichever call succeeded, the receiver has it.
    public func markDelivered(_ delivery: WebhookDelivery, httpStatus: Int) throws(StoreError) {
        try tasks.withConnection { connection in
            _ = try connection.query(
                """
                UPDATE webhook_deliveries
                SET status = 'delivered', delivered_at = now(), last_status = \(bind: httpStatus), last_error = NULL
                WHERE id = \(bind: delivery.rowID) AND status = 'pending'
                """)
        }
    }

    /// Schedules the next attempt after a failed call, unless the row was claimed again meanwhile.
    public func scheduleRetry(
        _ delivery: WebhookDelivery, afterSeconds delay: Double, httpStatus: Int?, error: String
    ) throws(StoreError) {
        try tasks.withConnection { connection in
            _ = try connection.query(
                """
                UPDATE webhook_deliveries
                SET next_attempt_at = now() + make_interval(secs => \(bind: delay)::float8),
                    last_status = \(bind: httpStatus), last_error = \(bind: error)
                WHERE id = \(bind: delivery.rowID) AND attempts = \(bind: delivery.attempt) AND status = 'pending'
                """)
        }
    }

    /// Gives a delivery up (retry limit reached, or target refused), keeping why.
    public func markFailed(_ delivery: WebhookDelivery, httpStatus: Int?, error: String) throws(StoreError) {
        try tasks.withConnection { connection in
            _ = try connection.query(
                """
                UPDATE webhook_deliveries SET status = 'failed', last_status = \(bind: httpStatus),
                    last_error = \(bind: error)
                WHERE id = \(bind: delivery.rowID) AND attempts = \(bind: delivery.attempt) AND status = 'pending'
                """)
        }
    }

    /// Deliveries newest first (by row id): those in `state` (any when nil) of `taskID` (any
    /// when nil) below the row id `beforeID` (keyset paging).
    public func list(state: WebhookDeliveryState?, taskID: Int64?, limit: Int, beforeID: Int64?) throws(StoreError)
        -> [WebhookDeliveryRecord]
    {
        try tasks.withConnection { connection in
            try connection.query(
                """
                SELECT id, delivery_id::text AS delivery_id, task_id, uri, method, status, attempts,
                       extract(epoch FROM next_attempt_at)::bigint AS next_attempt_at, last_status, last_error,
                       extract(epoch FROM created_at)::bigint AS created_at,
                       extract(epoch FROM delivered_at)::bigint AS delivered_at
                FROM webhook_deliveries
                WHERE (\(bind: state?.rawValue)::text IS NULL OR status = \(bind: state?.rawValue))
                  AND (\(bind: taskID)::bigint IS NULL OR task_id = \(bind: taskID))
                  AND (\(bind: beforeID)::bigint IS NULL OR id < \(bind: beforeID))
                ORDER BY id DESC
                LIMIT \(bind: limit)
                """
            ).rows.map { row throws(StoreError) in
                guard let id = row.int64("id"), let deliveryID = row.string("delivery_id"), let taskID = row.int64("task_id"),
                    let uri = row.string("uri"), let method = row.string("method"),
                    let state = row.string("status").flatMap(WebhookDeliveryState.init(rawValue:)),
                    let attempts = row.int("attempts"), let nextAttemptAt = row.int64("next_attempt_at"),
                    let createdAt = row.int64("created_at")
                else { throw StoreError.corruptRow("a webhook delivery row lacks a required column") }
                return WebhookDeliveryRecord(
                    id: id, deliveryID: deliveryID, taskID: taskID, uri: uri, method: method, state: state, attempts: attempts,
                    nextAttemptAt: nextAttemptAt, lastStatus: row.int("last_status"), lastError: row.string("last_error"),
                    createdAt: createdAt, deliveredAt: row.int64("delivered_at"))
            }
        }
    }

    /// How many deliveries are owed and how many were given up, each counted on its partial index.
    public func counts() throws(StoreError) -> WebhookDeliveryCounts {
        try tasks.withConnection { connection in
            let row = try connection.query(
                """
                SELECT (SELECT count(*) FROM webhook_deliveries WHERE status = 'pending') AS pending,
                       (SELECT count(*) FROM webhook_deliveries WHERE status = 'failed') AS failed
                """
            ).rows[0]
            return WebhookDeliveryCounts(pending: row.int64("pending") ?? 0, failed: row.int64("failed") ?? 0)
        }
    }
}

extension TaskStore {
    /// The webhook outbox in the same database.
    public var webhookDeliveries: WebhookDeliveryStore { WebhookDeliveryStore(tasks: self) }
}
