extension SchemaMigrations {
    /// What operators steer and read: per-type pause and running limits, each task's attempt
    /// history, and what every ExApp last did.
    ///
    /// - `task_type_settings`: a row only for a type an operator paused or limited. The claim
    ///   reads it (a paused type is never claimed; a limited one only under its row's lock).
    /// - `tasks.claimed_provider`: the provider the current claim is for, for the history.
    /// - `tasks.retry_base`: the attempt count when an operator last retried the task; the
    ///   retry policy counts attempts from there, so a retried task gets a fresh allowance while
    ///   its attempt numbers (and history) keep counting up.
    /// - `task_attempts`: one row per ended attempt, written by a row trigger in the statement
    ///   that ends it (so in the same transaction), removed with its task. How it ended is read
    ///   off what the ending statements write: a result sets SUCCESSFUL or FAILED and keeps
    ///   `claimed_by`; a retryable failure requeues with a `run_after`, or on its last attempt
    ///   fails keeping `claimed_by`; the lease reaper requeues without `run_after`, or fails, and
    ///   clears `claimed_by`; a cancel sets CANCELLED. Rows are appended in end order, so a BRIN
    ///   index on `ended_at` serves the statistics window at almost no cost per insert.
    /// - `tasks_type_status_idx`: the admin list's filters by type and status, in id order, and
    ///   the oldest waiting task per type; it replaces `tasks_waiting_since_idx`.
    /// - `worker_activity`: per ExApp and server process, the last request, claim and result and
    ///   the long polls waiting, flushed every few seconds by each process.
    /// - `tasks_notify_ready` also announces a finished task of a limited type: its slot is free.
    static let operations = SchemaMigration(version: 10, name: "operations", sql: #"""
        CREATE TABLE task_type_settings (
            type        text PRIMARY KEY,
            paused      boolean NOT NULL DEFAULT false,
            max_running integer CHECK (max_running BETWEEN 1 AND 100000),
            updated_at  timestamptz NOT NULL DEFAULT now()
        );

        ALTER TABLE tasks
            ADD COLUMN claimed_provider text,
            ADD COLUMN retry_base integer NOT NULL DEFAULT 0;

        CREATE TABLE task_attempts (
            task_id            bigint NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
            attempt            integer NOT NULL,
            type               text NOT NULL,
            ex_app_id          text,
            provider_id        text,
            claimed_at         timestamptz,
            ended_at           timestamptz NOT NULL DEFAULT now(),
            outcome            text NOT NULL
                CHECK (outcome IN ('succeeded', 'failed', 'retried', 'lease_expired', 'cancelled')),
            error_message      text,
            queue_wait_seconds double precision,
            input_bytes        integer,
            output_bytes       integer,
            PRIMARY KEY (task_id, attempt)
        );
        CREATE INDEX task_attempts_ended_idx ON task_attempts USING brin (ended_at);

        CREATE FUNCTION task_attempts_record_end() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO task_attempts (task_id, attempt, type, ex_app_id, provider_id, claimed_at, outcome,
                                       error_message, queue_wait_seconds, input_bytes, output_bytes)
            VALUES (
                OLD.id, OLD.attempt, OLD.type, OLD.claimed_by, OLD.claimed_provider, OLD.started_at,
                CASE
                    WHEN NEW.status = 3 THEN 'succeeded'
                    WHEN NEW.status = 5 THEN 'cancelled'
                    WHEN NEW.status = 1 AND NEW.run_after IS NOT NULL THEN 'retried'
                    WHEN NEW.claimed_by IS NULL THEN 'lease_expired'
                    ELSE 'failed'
                END,
                CASE WHEN NEW.status IN (1, 4) THEN NEW.error_message END,
                -- The wait is known for the first attempt; a requeued task's wait restarts unrecorded.
                CASE WHEN OLD.attempt = 1 THEN extract(epoch FROM OLD.started_at - OLD.scheduled_at) END,
                pg_column_size(OLD.input), pg_column_size(NEW.output))
            ON CONFLICT DO NOTHING;
            RETURN NULL;
        END $$;

        CREATE TRIGGER tasks_record_attempt_end AFTER UPDATE OF status ON tasks
            FOR EACH ROW WHEN (OLD.status = 2 AND NEW.status <> 2)
            EXECUTE FUNCTION task_attempts_record_end();

        CREATE INDEX tasks_type_status_idx ON tasks (type, status, id);
        DROP INDEX tasks_waiting_since_idx;

        CREATE TABLE worker_activity (
            app_id             text NOT NULL,
            server_id          text NOT NULL,
            last_request_at    timestamptz,
            last_claim_at      timestamptz,
            last_result_at     timestamptz,
            long_polls_waiting integer NOT NULL DEFAULT 0,
            updated_at         timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (app_id, server_id)
        );

        CREATE OR REPLACE FUNCTION tasks_notify_ready() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            payload text;
        BEGIN
            SELECT string_agg(n || ' ' || type, E'\n') INTO payload FROM (
                SELECT type, count(*) AS n FROM new_rows
                WHERE (status = 1 AND run_after IS NULL)
                   OR (status >= 3 AND type IN (SELECT type FROM task_type_settings WHERE max_running IS NOT NULL))
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
        """#)
}
