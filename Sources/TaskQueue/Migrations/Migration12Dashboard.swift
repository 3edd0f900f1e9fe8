extension SchemaMigrations {
    /// What the dashboard needs that the task table cannot answer cheaply: history and sign-ins.
    ///
    /// - `task_rollups`: one row per task type and minute, written once a minute by whichever
    ///   server process comes first (`ON CONFLICT DO NOTHING`): the tasks scheduled and running
    ///   when the minute ended (from `task_counts`) and those that finished in it (through
    ///   `tasks_cleanup_idx`). A type with nothing to count gets no row. Kept for
    ///   `--history-retention-seconds`.
    /// - `dashboard_sessions`: a signed-in administrator's browser session. Only the SHA-256 of
    ///   the cookie's random token is stored; a session ends at `expires_at`, at sign-out (the
    ///   row is deleted), or with its user.
    static let dashboard = SchemaMigration(version: 12, name: "dashboard", sql: #"""
        CREATE TABLE task_rollups (
            minute    timestamptz NOT NULL,
            type      text NOT NULL,
            scheduled bigint NOT NULL,
            running   bigint NOT NULL,
            succeeded bigint NOT NULL,
            failed    bigint NOT NULL,
            cancelled bigint NOT NULL,
            PRIMARY KEY (minute, type)
        );

        CREATE TABLE dashboard_sessions (
            token_hash bytea PRIMARY KEY,
            user_name  text NOT NULL REFERENCES users (name) ON DELETE CASCADE,
            created_at timestamptz NOT NULL DEFAULT now(),
            expires_at timestamptz NOT NULL
        );
        CREATE INDEX dashboard_sessions_expires_idx ON dashboard_sessions (expires_at);
        CREATE INDEX dashboard_sessions_user_idx ON dashboard_sessions (user_name);
        """#)
}
