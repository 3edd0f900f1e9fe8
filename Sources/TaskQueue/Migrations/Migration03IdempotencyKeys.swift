extension SchemaMigrations {
    /// Version 3: one row per (caller, Idempotency-Key), so a repeated schedule finds its task.
    static let idempotencyKeys = SchemaMigration(version: 3, name: "idempotency keys", sql: #"""
        -- One row per (caller, Idempotency-Key): the primary key, not a read-then-insert check,
        -- makes concurrent schedules with one key create one task. Deleted with their task, and
        -- by the server once older than the retention window.
        CREATE TABLE idempotency_keys (
            scope           text NOT NULL,
            key             text NOT NULL,
            request_digest  text NOT NULL,
            -- Checked at commit: the key row is written before its task, to take the key first.
            task_id         bigint NOT NULL REFERENCES tasks (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
            created_at      timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (scope, key)
        );
        CREATE INDEX idempotency_keys_task_idx ON idempotency_keys (task_id);
        CREATE INDEX idempotency_keys_age_idx ON idempotency_keys (created_at);
        """#)
}
