extension SchemaMigrations {
    /// Version 4: delayed tasks (`run_after`), the claim index redefined to skip them, and the
    /// retention index of finished tasks.
    static let delaysAndRetention = SchemaMigration(version: 4, name: "delayed tasks and retention", sql: #"""
        -- A waiting task with run_after set is not ready yet (scheduled for later, or backing off
        -- after a retryable failure); the server clears run_after when it passes. Only ready
        -- tasks are in the claim index, so delayed ones never slow a claim down.
        ALTER TABLE tasks ADD COLUMN run_after timestamptz;
        DROP INDEX tasks_claim_idx;
        CREATE INDEX tasks_claim_idx ON tasks (type, priority DESC, id) WHERE status = 1 AND run_after IS NULL;
        CREATE INDEX tasks_delayed_idx ON tasks (run_after) WHERE status = 1 AND run_after IS NOT NULL;
        -- Finished tasks that may be deleted, oldest first, for retention.
        CREATE INDEX tasks_cleanup_idx ON tasks (last_updated) WHERE status >= 3 AND allow_cleanup;
        """#)
}
