import Postgres

extension TaskStore {
    /// Makes delayed tasks whose time has come claimable (clears `run_after`), a batch at a
    /// time. Safe from several servers at once: rows are taken with `SKIP LOCKED`.
    @discardableResult
    public func releaseDueTasks(batch: Int = 1000) throws(StoreError) -> Int {
        try withConnection { connection in
            try connection.query(
                """
                UPDATE tasks SET run_after = NULL, last_updated = now()
                WHERE id IN (
                    SELECT id FROM tasks
                    WHERE status = \(TaskStatus.scheduled) AND run_after <= now()
                    ORDER BY run_after
                    LIMIT \(bind: batch)
                    FOR UPDATE SKIP LOCKED
                )
                """
            ).affectedRows
        }
    }

    /// Deletes up to `batch` finished tasks last updated more than `olderThanSeconds` ago whose
    /// `allowCleanup` is set, with their idempotency keys and webhook deliveries. A task whose
    /// webhook is still owed is kept until the delivery ends (delivered or given up): the sender
    /// reads the payload from the task. So is a task that a waiting task depends on (it reads
    /// its outcome, and maybe its output, when it is released). Small batches keep each transaction
    /// short, so cleanup never holds back vacuum or blocks claims for long. Returns how many.
    @discardableResult
    public func deleteFinishedTasks(olderThanSeconds: Int, batch: Int = 500) throws(StoreError) -> Int {
        try withConnection { connection in
            try connection.query(
                """
                DELETE FROM tasks
                WHERE id IN (
                    SELECT id FROM tasks
                    WHERE status BETWEEN \(TaskStatus.successful) AND \(TaskStatus.cancelled) AND allow_cleanup
                      AND last_updated < now() - make_interval(secs => \(bind: olderThanSeconds)::integer)
                      AND NOT EXISTS (
                          SELECT 1 FROM webhook_deliveries
                          WHERE webhook_deliveries.task_id = tasks.id AND webhook_deliveries.status = 'pending')
                      AND NOT EXISTS (SELECT 1 FROM task_dependencies WHERE task_dependencies.depends_on = tasks.id)
                    ORDER BY last_updated
                    LIMIT \(bind: batch)
                    FOR UPDATE SKIP LOCKED
                )
                """
            ).affectedRows
        }
    }
}
