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
    /// - `task_attempts`: the attempts that did not end their task: requeued after a retryable
    ///   failure (`retried`) or by the lease reaper (`lease_expired`, also when the reaper
    ///   fails the task), written by a row trigger of the statement that ends them (so in the same
    ///   transaction), and the final attempt of a task an operator retries, written by the
    ///   retry. The attempt that ended the task (and the running one) is read off the task's row,
    ///   so results, the common case, write nothing here. A retryable failure requeues with a
    ///   `run_after`; the reaper requeues without one, and clears `claimed_by` when it fails a
    ///   task (a worker's final failure keeps it). Deleted with the task by a statement trigger.
    /// - `tasks_type_status_idx`: the admin list's filters by type and status, in id order, the
    ///   oldest waiting task per type and the running count of a limited type; it replaces
    ///   `tasks_waiting_since_idx`. SUCCESSFUL rows, most of the table and dense in id order,
    ///   are left out, so a result adds no entry.
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
            task_id       bigint NOT NULL,
            attempt       integer NOT NULL,
            type          text NOT NULL,
            ex_app_id     text,
            provider_id   text,
            claimed_at    timestamptz,
            ended_at      timestamptz NOT NULL DEFAULT now(),
            outcome       text NOT NULL
                CHECK (outcome IN ('succeeded', 'failed', 'retried', 'lease_expired', 'cancelled')),
            error_message text,
            PRIMARY KEY (task_id, attempt)
        );
        CREATE INDEX task_attempts_ended_idx ON task_attempts USING brin (ended_at);

        CREATE FUNCTION task_attempts_record_requeue() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO task_attempts (task_id, attempt, type, ex_app_id, provider_id, claimed_at, outcome, error_message)
            VALUES (
                OLD.id, OLD.attempt, OLD.type, OLD.claimed_by, OLD.claimed_provider, OLD.started_at,
                CASE WHEN NEW.status = 1 AND NEW.run_after IS NOT NULL THEN 'retried' ELSE 'lease_expired' END,
                NEW.error_message)
            ON CONFLICT DO NOTHING;
            RETURN NULL;
        END $$;

        CREATE TRIGGER tasks_record_requeued_attempt AFTER UPDATE OF status ON tasks
            FOR EACH ROW WHEN (OLD.status = 2 AND (NEW.status = 1 OR (NEW.status = 4 AND NEW.claimed_by IS NULL)))
            EXECUTE FUNCTION task_attempts_record_requeue();

        -- The history goes with its task (no foreign key: its check on every insert cost more).
        CREATE FUNCTION task_attempts_delete_with_tasks() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            DELETE FROM task_attempts WHERE task_id IN (SELECT id FROM old_rows);
            RETURN NULL;
        END $$;

        CREATE TRIGGER tasks_delete_attempts AFTER DELETE ON tasks
            REFERENCING OLD TABLE AS old_rows
            FOR EACH STATEMENT EXECUTE FUNCTION task_attempts_delete_with_tasks();

        CREATE INDEX tasks_type_status_idx ON tasks (type, status, id) WHERE status <> 3;
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
