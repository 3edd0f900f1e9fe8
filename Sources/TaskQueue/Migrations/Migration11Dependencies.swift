extension SchemaMigrations {
    /// Task dependencies: a task that waits for others, released exactly once when they end.
    ///
    /// - Status 6, *waiting*: shown as `STATUS_SCHEDULED` on the wire, never claimed (every
    ///   claim and ready probe reads status 1 only), counted apart in `task_counts`.
    /// - `tasks.depends_on`: the predecessors as scheduled. `waiting_for`: those it still waits
    ///   for; NULL asks `tasks_dependencies_attach` to work it out. Predecessors leave it one by
    ///   one with `array_remove` under the successor's row lock: which ended is recorded, so a
    ///   report counted twice changes nothing, and the one transaction that empties it releases
    ///   the task (status 1). Nothing is ever decremented.
    /// - `on_dependency_failure`: `cancel` or `fail` the successor when a predecessor fails,
    ///   is cancelled or deleted (and its own successors by their policy, in one recursive
    ///   statement), or `run` it once every predecessor ended.
    /// - `resolve_input`: the input names predecessors' outputs (`$fromTask`). Such a task stays
    ///   waiting with an empty `waiting_for` until the server substituted and checked its input
    ///   (a notice on `taskdispatch_inputs` asks for that).
    /// - `has_successors`: some task depends on this one; the row triggers fire only then, so
    ///   tasks without dependencies pay nothing. `successors_read_output`: one of them also
    ///   has `resolve_input`, so the end of this one may leave an input to prepare.
    /// - `task_dependencies`: one edge per predecessor until its successor ends; retention
    ///   keeps a task as long as an edge names it, and the release of a predecessor's
    ///   successors is announced through them after its commit. No foreign keys: the triggers
    ///   keep it.
    /// - `tasks_notify_ready` notifies nothing for statements run by triggers.
    /// - Finished statuses are 3 to 5 now: `tasks_cleanup_idx` and the ready notice say so.
    static let dependencies = SchemaMigration(version: 11, name: "dependencies", sql: #"""
        ALTER TABLE tasks
            DROP CONSTRAINT tasks_status_check,
            ADD CONSTRAINT tasks_status_check CHECK (status BETWEEN 0 AND 6),
            ADD COLUMN depends_on bigint[],
            ADD COLUMN waiting_for bigint[],
            ADD COLUMN on_dependency_failure text CHECK (on_dependency_failure IN ('cancel', 'fail', 'run')),
            ADD COLUMN resolve_input boolean NOT NULL DEFAULT false,
            ADD COLUMN has_successors boolean NOT NULL DEFAULT false,
            ADD COLUMN successors_read_output boolean NOT NULL DEFAULT false;

        -- Every edge is inserted and deleted again within its successor's life: vacuumed and
        -- analyzed as eagerly as the task table, so that the settle trigger's lookups by
        -- predecessor see fresh statistics and few dead entries.
        CREATE TABLE task_dependencies (
            depends_on bigint NOT NULL,
            task_id    bigint NOT NULL,
            PRIMARY KEY (depends_on, task_id)
        ) WITH (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 1000,
                autovacuum_analyze_scale_factor = 0.02);

        DROP INDEX tasks_cleanup_idx;
        CREATE INDEX tasks_cleanup_idx ON tasks (last_updated) WHERE status BETWEEN 3 AND 5 AND allow_cleanup;
        CREATE INDEX tasks_inputs_to_resolve_idx ON tasks (id) WHERE status = 6 AND waiting_for = '{}';

        CREATE FUNCTION task_dependency_message(predecessor bigint, predecessor_status smallint) RETURNS text
        LANGUAGE sql IMMUTABLE AS $$
            SELECT CASE predecessor_status
                WHEN 4 THEN format('dependency %s ended STATUS_FAILED', predecessor)
                WHEN 5 THEN format('dependency %s ended STATUS_CANCELLED', predecessor)
                ELSE format('dependency %s was deleted', predecessor)
            END
        $$;

        -- Makes a task waiting (status 6, waiting_for NULL) wait: locks its predecessors in id
        -- order, so none ends between reading its status and the edges becoming visible to its
        -- settle trigger; then cancels or fails it at once if one already did not succeed, or
        -- records what it waits for, or releases it when nothing is left.
        CREATE FUNCTION tasks_dependencies_attach() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            culprit record;
        BEGIN
            PERFORM 1 FROM tasks WHERE id = ANY(NEW.depends_on) ORDER BY id FOR NO KEY UPDATE;
            UPDATE tasks SET has_successors = true, successors_read_output = successors_read_output OR NEW.resolve_input
            WHERE id = ANY(NEW.depends_on) AND (NOT has_successors OR (NEW.resolve_input AND NOT successors_read_output));
            IF NEW.on_dependency_failure <> 'run' THEN
                SELECT wanted.id, tasks.status INTO culprit
                FROM unnest(NEW.depends_on) AS wanted (id) LEFT JOIN tasks ON tasks.id = wanted.id
                WHERE tasks.status IS NULL OR tasks.status IN (4, 5)
                ORDER BY wanted.id LIMIT 1;
                IF FOUND THEN
                    NEW.status := CASE WHEN NEW.on_dependency_failure = 'fail' THEN 4 ELSE 5 END;
                    NEW.waiting_for := '{}';
                    NEW.error_message := task_dependency_message(culprit.id, culprit.status);
                    NEW.user_facing_error_message := 'A task this task depends on did not succeed.';
                    NEW.ended_at := now();
                    RETURN NEW;
                END IF;
            END IF;
            SELECT coalesce(array_agg(id ORDER BY id), '{}') INTO NEW.waiting_for
            FROM tasks WHERE id = ANY(NEW.depends_on) AND status IN (1, 2, 6);
            IF cardinality(NEW.waiting_for) = 0 AND NOT NEW.resolve_input THEN
                NEW.status := 1;
                NEW.run_after := CASE WHEN NEW.run_after > now() THEN NEW.run_after END;
                RETURN NEW;
            END IF;
            INSERT INTO task_dependencies (depends_on, task_id)
            SELECT DISTINCT unnest(NEW.depends_on), NEW.id
            ON CONFLICT DO NOTHING;
            IF cardinality(NEW.waiting_for) = 0 THEN
                PERFORM pg_notify('taskdispatch_inputs', '');
            END IF;
            RETURN NEW;
        END $$;

        CREATE TRIGGER tasks_dependencies_attach BEFORE INSERT OR UPDATE OF status, waiting_for ON tasks
            FOR EACH ROW WHEN (NEW.status = 6 AND NEW.waiting_for IS NULL)
            EXECUTE FUNCTION tasks_dependencies_attach();

        -- A task that ends as it is scheduled (a dependency already failed) owes its webhook too.
        CREATE TRIGGER tasks_webhook_outbox_on_insert AFTER INSERT ON tasks
            FOR EACH ROW WHEN (NEW.status IN (3, 4, 5) AND NEW.webhook_uri IS NOT NULL)
            EXECUTE FUNCTION webhook_outbox_after_finish();

        -- What a predecessor's end (predecessor_status 3 to 5, NULL: deleted) does to the tasks
        -- waiting for it. Successors are locked in id order, so two predecessors ending at once
        -- take turns on a shared successor, and the second sees the first's removal.
        CREATE FUNCTION task_dependencies_settle(predecessor bigint, predecessor_status smallint) RETURNS void
        LANGUAGE plpgsql AS $$
        DECLARE
            to_resolve bigint;
        BEGIN
            -- Counted as done: on success, and under 'run' on any end.
            WITH successor AS MATERIALIZED (
                SELECT waiting.id FROM tasks AS waiting
                WHERE waiting.id IN (SELECT task_id FROM task_dependencies WHERE depends_on = predecessor)
                  AND waiting.status = 6 AND predecessor = ANY(waiting.waiting_for)
                  AND (predecessor_status = 3 OR waiting.on_dependency_failure = 'run')
                ORDER BY waiting.id
                FOR NO KEY UPDATE
            ), released AS (
                UPDATE tasks
                SET waiting_for = array_remove(tasks.waiting_for, predecessor),
                    status = CASE WHEN cardinality(array_remove(tasks.waiting_for, predecessor)) = 0
                                   AND NOT tasks.resolve_input THEN 1 ELSE 6 END,
                    run_after = CASE WHEN cardinality(array_remove(tasks.waiting_for, predecessor)) = 0
                                      AND tasks.run_after <= now() THEN NULL ELSE tasks.run_after END,
                    last_updated = now()
                FROM successor
                WHERE tasks.id = successor.id AND tasks.status = 6 AND predecessor = ANY(tasks.waiting_for)
                RETURNING tasks.status, tasks.waiting_for
            )
            SELECT count(*) INTO to_resolve FROM released WHERE status = 6 AND cardinality(waiting_for) = 0;
            IF to_resolve > 0 THEN
                PERFORM pg_notify('taskdispatch_inputs', '');
            END IF;
            IF predecessor_status = 3 THEN
                RETURN;
            END IF;
            -- Not a success: every successor that is not 'run' ends, and so on down the graph
            -- (its successors' statuses set by their own policies) in this one statement.
            WITH RECURSIVE doomed (id, policy, cause, cause_status) AS (
                SELECT waiting.id, waiting.on_dependency_failure, predecessor, predecessor_status
                FROM task_dependencies JOIN tasks AS waiting ON waiting.id = task_dependencies.task_id
                WHERE task_dependencies.depends_on = predecessor AND waiting.status = 6
                  AND predecessor = ANY(waiting.waiting_for) AND waiting.on_dependency_failure <> 'run'
              UNION
                SELECT waiting.id, waiting.on_dependency_failure, doomed.id,
                       (CASE WHEN doomed.policy = 'fail' THEN 4 ELSE 5 END)::smallint
                FROM doomed
                JOIN task_dependencies ON task_dependencies.depends_on = doomed.id
                JOIN tasks AS waiting ON waiting.id = task_dependencies.task_id
                WHERE waiting.status = 6 AND waiting.on_dependency_failure <> 'run'
            ), chosen AS (
                SELECT DISTINCT ON (id) id, policy, cause, cause_status FROM doomed ORDER BY id, cause
            ), locked AS MATERIALIZED (
                SELECT tasks.id FROM tasks JOIN chosen ON chosen.id = tasks.id
                WHERE tasks.status = 6
                ORDER BY tasks.id
                FOR NO KEY UPDATE OF tasks
            )
            UPDATE tasks
            SET status = CASE WHEN chosen.policy = 'fail' THEN 4 ELSE 5 END,
                error_message = task_dependency_message(chosen.cause, chosen.cause_status),
                user_facing_error_message = 'A task this task depends on did not succeed.',
                ended_at = now(), last_updated = now()
            FROM chosen JOIN locked ON locked.id = chosen.id
            WHERE tasks.id = chosen.id AND tasks.status = 6;
        END $$;

        -- A predecessor ended, or an operator's retry reopened it (then the 'run' successors
        -- still waiting count it as open again).
        CREATE FUNCTION tasks_dependencies_after_status() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.status BETWEEN 3 AND 5 THEN
                PERFORM task_dependencies_settle(NEW.id, NEW.status);
            ELSE
                UPDATE tasks SET waiting_for = array_append(waiting_for, NEW.id), last_updated = now()
                WHERE id IN (SELECT task_id FROM task_dependencies WHERE depends_on = NEW.id)
                  AND status = 6 AND cardinality(waiting_for) > 0 AND NOT NEW.id = ANY(waiting_for);
            END IF;
            RETURN NULL;
        END $$;

        CREATE TRIGGER tasks_dependencies_settle AFTER UPDATE OF status ON tasks
            FOR EACH ROW WHEN (NEW.has_successors
                AND (NEW.status BETWEEN 3 AND 5) IS DISTINCT FROM (OLD.status BETWEEN 3 AND 5))
            EXECUTE FUNCTION tasks_dependencies_after_status();

        -- A task that ends or is deleted drops its edges (kept while it runs, so that the
        -- release can be announced after its commit and its dependencies are kept meanwhile);
        -- a deleted predecessor counts as one that did not succeed.
        CREATE FUNCTION tasks_dependencies_detach() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF OLD.depends_on IS NOT NULL THEN
                DELETE FROM task_dependencies WHERE depends_on = ANY(OLD.depends_on) AND task_id = OLD.id;
            END IF;
            IF TG_OP = 'DELETE' AND OLD.has_successors THEN
                PERFORM task_dependencies_settle(OLD.id, NULL);
            END IF;
            RETURN NULL;
        END $$;

        CREATE TRIGGER tasks_dependencies_detach AFTER UPDATE OF status ON tasks
            FOR EACH ROW WHEN (NEW.depends_on IS NOT NULL
                AND NEW.status BETWEEN 3 AND 5 AND OLD.status NOT BETWEEN 3 AND 5)
            EXECUTE FUNCTION tasks_dependencies_detach();

        CREATE TRIGGER tasks_dependencies_delete AFTER DELETE ON tasks
            FOR EACH ROW WHEN (OLD.depends_on IS NOT NULL OR OLD.has_successors)
            EXECUTE FUNCTION tasks_dependencies_detach();

        -- Statements run by triggers notify nothing: a release by a predecessor's end is
        -- announced after that transaction commits (a NOTIFY holds a lock that lets only one
        -- notifying transaction commit at a time; in every result's transaction it capped
        -- chains at one commit's latency per task), and the has_successors mark and the
        -- cascade's ends free no slot and ready no task.
        CREATE OR REPLACE FUNCTION tasks_notify_ready() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            payload text;
        BEGIN
            IF pg_trigger_depth() > 1 THEN
                RETURN NULL;
            END IF;
            SELECT string_agg(n || ' ' || type, E'\n') INTO payload FROM (
                SELECT type, count(*) AS n FROM new_rows
                WHERE (status = 1 AND run_after IS NULL)
                   OR (status BETWEEN 3 AND 5
                       AND type IN (SELECT type FROM task_type_settings WHERE max_running IS NOT NULL))
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
