extension SchemaMigrations {
    /// Long poll wakeups: one `pg_notify` per statement that makes tasks claimable (schedule,
    /// batch schedule, lease requeue, delayed release), never one per row. The payload is
    /// ``ReadyTaskNotice``'s text: a `count type` line per type, or `*` when that would not fit
    /// PostgreSQL's 8000-byte payload limit. Claims, progress and results make no task ready, so
    /// their statements find no row and send nothing.
    static let readyNotifications = SchemaMigration(version: 8, name: "ready task notifications", sql: #"""
        CREATE FUNCTION tasks_notify_ready() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            payload text;
        BEGIN
            SELECT string_agg(n || ' ' || type, E'\n') INTO payload FROM (
                SELECT type, count(*) AS n FROM new_rows
                WHERE status = 1 AND run_after IS NULL
                GROUP BY type
            ) AS ready;
            IF payload IS NOT NULL THEN
                IF octet_length(payload) > 7000 THEN
                    payload := '*';
                END IF;
                PERFORM pg_notify('taskdispatch_ready', payload);
            END IF;
            RETURN NULL;
        END $$;

        CREATE TRIGGER tasks_notify_ready_inserts AFTER INSERT ON tasks
            REFERENCING NEW TABLE AS new_rows
            FOR EACH STATEMENT EXECUTE FUNCTION tasks_notify_ready();
        CREATE TRIGGER tasks_notify_ready_updates AFTER UPDATE ON tasks
            REFERENCING NEW TABLE AS new_rows
            FOR EACH STATEMENT EXECUTE FUNCTION tasks_notify_ready();
        """#)
}
