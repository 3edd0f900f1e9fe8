-- The schema the migrations add up to, generated from a freshly migrated database with
-- pg_dump --schema-only --no-owner --no-privileges (PostgreSQL 15) by SchemaFileTests; do not edit.
-- Regenerate: TASKDISPATCH_UPDATE_SCHEMA=1 swift test --filter SchemaFileTests

--
-- Name: provider_catalog_changed(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.provider_catalog_changed() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    UPDATE provider_catalog_version SET version = version + 1;
    RETURN NULL;
END $$;

--
-- Name: task_attempts_delete_with_tasks(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.task_attempts_delete_with_tasks() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    DELETE FROM task_attempts WHERE task_id IN (SELECT id FROM old_rows);
    RETURN NULL;
END $$;

--
-- Name: task_attempts_record_requeue(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.task_attempts_record_requeue() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    INSERT INTO task_attempts (task_id, attempt, type, ex_app_id, provider_id, claimed_at, outcome, error_message)
    VALUES (
        OLD.id, OLD.attempt, OLD.type, OLD.claimed_by, OLD.claimed_provider, OLD.started_at,
        CASE WHEN NEW.status = 1 AND NEW.run_after IS NOT NULL THEN 'retried' ELSE 'lease_expired' END,
        NEW.error_message)
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;

--
-- Name: task_counts_after_delete(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.task_counts_after_delete() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    INSERT INTO task_count_deltas (type, status, delta)
    SELECT type, status, -count(*) FROM old_rows GROUP BY type, status;
    RETURN NULL;
END $$;

--
-- Name: task_counts_after_insert(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.task_counts_after_insert() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    INSERT INTO task_count_deltas (type, status, delta)
    SELECT type, status, count(*) FROM new_rows GROUP BY type, status;
    RETURN NULL;
END $$;

--
-- Name: task_counts_after_update(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.task_counts_after_update() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    INSERT INTO task_count_deltas (type, status, delta)
    SELECT type, status, sum(change) FROM (
        SELECT type, status, -1 AS change FROM old_rows
        UNION ALL
        SELECT type, status, 1 FROM new_rows
    ) AS changes
    GROUP BY type, status
    HAVING sum(change) <> 0;
    RETURN NULL;
END $$;

--
-- Name: task_dependencies_settle(bigint, smallint); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.task_dependencies_settle(predecessor bigint, predecessor_status smallint) RETURNS void
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: task_dependency_message(bigint, smallint); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.task_dependency_message(predecessor bigint, predecessor_status smallint) RETURNS text
    LANGUAGE sql IMMUTABLE
    AS $$
    SELECT CASE predecessor_status
        WHEN 4 THEN format('dependency %s ended STATUS_FAILED', predecessor)
        WHEN 5 THEN format('dependency %s ended STATUS_CANCELLED', predecessor)
        ELSE format('dependency %s was deleted', predecessor)
    END
$$;

--
-- Name: tasks_dependencies_after_status(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.tasks_dependencies_after_status() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: tasks_dependencies_attach(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.tasks_dependencies_attach() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: tasks_dependencies_detach(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.tasks_dependencies_detach() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF OLD.depends_on IS NOT NULL THEN
        DELETE FROM task_dependencies WHERE depends_on = ANY(OLD.depends_on) AND task_id = OLD.id;
    END IF;
    IF TG_OP = 'DELETE' AND OLD.has_successors THEN
        PERFORM task_dependencies_settle(OLD.id, NULL);
    END IF;
    RETURN NULL;
END $$;

--
-- Name: tasks_notify_ready(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.tasks_notify_ready() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: webhook_outbox_after_finish(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.webhook_outbox_after_finish() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    INSERT INTO webhook_deliveries (task_id, uri, method)
    VALUES (NEW.id, NEW.webhook_uri, coalesce(NEW.webhook_method, 'HTTP:POST'));
    RETURN NULL;
END $$;

--
-- Name: app_passwords; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.app_passwords (
    id text NOT NULL,
    user_name text NOT NULL,
    salt bytea NOT NULL,
    hash bytea NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);

--
-- Name: custom_task_types; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.custom_task_types (
    id text NOT NULL,
    app_id text,
    name text NOT NULL,
    description text NOT NULL,
    input_shape text DEFAULT '[]'::text NOT NULL,
    optional_input_shape text DEFAULT '[]'::text NOT NULL,
    output_shape text DEFAULT '[]'::text NOT NULL,
    optional_output_shape text DEFAULT '[]'::text NOT NULL,
    input_shape_enum_values text DEFAULT '{}'::text NOT NULL,
    optional_input_shape_enum_values text DEFAULT '{}'::text NOT NULL,
    output_shape_enum_values text DEFAULT '{}'::text NOT NULL,
    optional_output_shape_enum_values text DEFAULT '{}'::text NOT NULL,
    input_shape_defaults text DEFAULT '{}'::text NOT NULL,
    optional_input_shape_defaults text DEFAULT '{}'::text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);

--
-- Name: dashboard_sessions; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.dashboard_sessions (
    token_hash bytea NOT NULL,
    user_name text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL
);

--
-- Name: ex_apps; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.ex_apps (
    app_id text NOT NULL,
    enabled boolean DEFAULT true NOT NULL,
    salt bytea NOT NULL,
    secret_hash bytea NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    base_url text,
    sealed_secret bytea,
    last_triggered_at timestamp with time zone
);

--
-- Name: idempotency_keys; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.idempotency_keys (
    scope text NOT NULL,
    key text NOT NULL,
    request_digest text NOT NULL,
    task_id bigint NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);

--
-- Name: preferred_providers; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.preferred_providers (
    task_type text NOT NULL,
    provider_id text NOT NULL,
    chosen_at timestamp with time zone DEFAULT now() NOT NULL
);

--
-- Name: provider_catalog_version; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.provider_catalog_version (
    singleton boolean DEFAULT true NOT NULL,
    version bigint NOT NULL,
    CONSTRAINT provider_catalog_version_singleton_check CHECK (singleton)
);

--
-- Name: provider_triggers; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.provider_triggers (
    provider_id text NOT NULL,
    requested_at timestamp with time zone DEFAULT now() NOT NULL,
    due_at timestamp with time zone DEFAULT now() NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    sent_at timestamp with time zone,
    in_flight_until timestamp with time zone,
    last_error text,
    given_up_at timestamp with time zone
);

--
-- Name: schedule_rate_limits; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.schedule_rate_limits (
    subject text NOT NULL,
    window_start timestamp with time zone NOT NULL,
    scheduled integer NOT NULL
);

--
-- Name: schema_migrations; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.schema_migrations (
    version integer NOT NULL,
    name text NOT NULL,
    applied_at timestamp with time zone DEFAULT now() NOT NULL,
    checksum text
);

--
-- Name: task_attempts; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.task_attempts (
    task_id bigint NOT NULL,
    attempt integer NOT NULL,
    type text NOT NULL,
    ex_app_id text,
    provider_id text,
    claimed_at timestamp with time zone,
    ended_at timestamp with time zone DEFAULT now() NOT NULL,
    outcome text NOT NULL,
    error_message text,
    CONSTRAINT task_attempts_outcome_check CHECK ((outcome = ANY (ARRAY['succeeded'::text, 'failed'::text, 'retried'::text, 'lease_expired'::text, 'cancelled'::text])))
);

--
-- Name: task_count_deltas; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.task_count_deltas (
    type text NOT NULL,
    status smallint NOT NULL,
    delta bigint NOT NULL
)
WITH (autovacuum_vacuum_scale_factor='0', autovacuum_vacuum_threshold='1000');

--
-- Name: task_counts; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.task_counts (
    type text NOT NULL,
    status smallint NOT NULL,
    n bigint NOT NULL
);

--
-- Name: task_dependencies; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.task_dependencies (
    depends_on bigint NOT NULL,
    task_id bigint NOT NULL
)
WITH (autovacuum_vacuum_scale_factor='0.01', autovacuum_vacuum_threshold='1000', autovacuum_analyze_scale_factor='0.02');

--
-- Name: task_files; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.task_files (
    id bigint NOT NULL,
    task_id bigint,
    user_id text,
    app_id text NOT NULL,
    name text NOT NULL,
    content_type text NOT NULL,
    size bigint NOT NULL,
    data bytea NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT task_files_size_check CHECK ((size >= 0))
);

--
-- Name: task_files_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.task_files ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME public.task_files_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: task_providers; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.task_providers (
    id text NOT NULL,
    app_id text,
    display_name text NOT NULL,
    task_type text NOT NULL,
    expected_runtime integer DEFAULT 0 NOT NULL,
    optional_input_shape text DEFAULT '[]'::text NOT NULL,
    optional_output_shape text DEFAULT '[]'::text NOT NULL,
    input_shape_enum_values text DEFAULT '{}'::text NOT NULL,
    optional_input_shape_enum_values text DEFAULT '{}'::text NOT NULL,
    output_shape_enum_values text DEFAULT '{}'::text NOT NULL,
    optional_output_shape_enum_values text DEFAULT '{}'::text NOT NULL,
    input_shape_defaults text DEFAULT '{}'::text NOT NULL,
    optional_input_shape_defaults text DEFAULT '{}'::text NOT NULL,
    registered_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT task_providers_expected_runtime_check CHECK ((expected_runtime >= 0))
);

--
-- Name: task_rollups; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.task_rollups (
    minute timestamp with time zone NOT NULL,
    type text NOT NULL,
    scheduled bigint NOT NULL,
    running bigint NOT NULL,
    succeeded bigint NOT NULL,
    failed bigint NOT NULL,
    cancelled bigint NOT NULL
);

--
-- Name: task_type_settings; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.task_type_settings (
    type text NOT NULL,
    paused boolean DEFAULT false NOT NULL,
    max_running integer,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT task_type_settings_max_running_check CHECK (((max_running >= 1) AND (max_running <= 100000)))
);

--
-- Name: tasks; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.tasks (
    id bigint NOT NULL,
    type text NOT NULL,
    status smallint DEFAULT 1 NOT NULL,
    user_id text,
    app_id text NOT NULL,
    custom_id text DEFAULT ''::text NOT NULL,
    input text NOT NULL,
    output text,
    error_message text,
    user_facing_error_message text,
    progress double precision,
    priority integer DEFAULT 0 NOT NULL,
    include_watermark boolean DEFAULT true NOT NULL,
    allow_cleanup boolean DEFAULT true NOT NULL,
    webhook_uri text,
    webhook_method text,
    attempt integer DEFAULT 0 NOT NULL,
    claimed_by text,
    scheduled_at timestamp with time zone DEFAULT now() NOT NULL,
    started_at timestamp with time zone,
    ended_at timestamp with time zone,
    last_updated timestamp with time zone DEFAULT now() NOT NULL,
    completion_expected_at timestamp with time zone,
    lease_expires_at timestamp with time zone,
    lease_seconds integer,
    run_after timestamp with time zone,
    claimed_provider text,
    retry_base integer DEFAULT 0 NOT NULL,
    depends_on bigint[],
    waiting_for bigint[],
    on_dependency_failure text,
    resolve_input boolean DEFAULT false NOT NULL,
    has_successors boolean DEFAULT false NOT NULL,
    successors_read_output boolean DEFAULT false NOT NULL,
    CONSTRAINT tasks_on_dependency_failure_check CHECK ((on_dependency_failure = ANY (ARRAY['cancel'::text, 'fail'::text, 'run'::text]))),
    CONSTRAINT tasks_progress_check CHECK (((progress >= (0)::double precision) AND (progress <= (1)::double precision))),
    CONSTRAINT tasks_status_check CHECK (((status >= 0) AND (status <= 6)))
)
WITH (fillfactor='80', autovacuum_vacuum_scale_factor='0.01', autovacuum_vacuum_threshold='1000', autovacuum_analyze_scale_factor='0.02');

--
-- Name: tasks_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.tasks ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME public.tasks_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: users; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.users (
    name text NOT NULL,
    is_admin boolean DEFAULT false NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);

--
-- Name: webhook_deliveries; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.webhook_deliveries (
    id bigint NOT NULL,
    delivery_id uuid DEFAULT gen_random_uuid() NOT NULL,
    task_id bigint NOT NULL,
    uri text NOT NULL,
    method text NOT NULL,
    status text DEFAULT 'pending'::text NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    next_attempt_at timestamp with time zone DEFAULT now() NOT NULL,
    last_status integer,
    last_error text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    delivered_at timestamp with time zone,
    CONSTRAINT webhook_deliveries_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'delivered'::text, 'failed'::text])))
);

--
-- Name: webhook_deliveries_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.webhook_deliveries ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.webhook_deliveries_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: worker_activity; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.worker_activity (
    app_id text NOT NULL,
    server_id text NOT NULL,
    last_request_at timestamp with time zone,
    last_claim_at timestamp with time zone,
    last_result_at timestamp with time zone,
    long_polls_waiting integer DEFAULT 0 NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);

--
-- Name: app_passwords app_passwords_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.app_passwords
    ADD CONSTRAINT app_passwords_pkey PRIMARY KEY (id);

--
-- Name: custom_task_types custom_task_types_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.custom_task_types
    ADD CONSTRAINT custom_task_types_pkey PRIMARY KEY (id);

--
-- Name: dashboard_sessions dashboard_sessions_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.dashboard_sessions
    ADD CONSTRAINT dashboard_sessions_pkey PRIMARY KEY (token_hash);

--
-- Name: ex_apps ex_apps_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.ex_apps
    ADD CONSTRAINT ex_apps_pkey PRIMARY KEY (app_id);

--
-- Name: idempotency_keys idempotency_keys_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.idempotency_keys
    ADD CONSTRAINT idempotency_keys_pkey PRIMARY KEY (scope, key);

--
-- Name: preferred_providers preferred_providers_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.preferred_providers
    ADD CONSTRAINT preferred_providers_pkey PRIMARY KEY (task_type);

--
-- Name: provider_catalog_version provider_catalog_version_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.provider_catalog_version
    ADD CONSTRAINT provider_catalog_version_pkey PRIMARY KEY (singleton);

--
-- Name: provider_triggers provider_triggers_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.provider_triggers
    ADD CONSTRAINT provider_triggers_pkey PRIMARY KEY (provider_id);

--
-- Name: schedule_rate_limits schedule_rate_limits_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.schedule_rate_limits
    ADD CONSTRAINT schedule_rate_limits_pkey PRIMARY KEY (subject);

--
-- Name: schema_migrations schema_migrations_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.schema_migrations
    ADD CONSTRAINT schema_migrations_pkey PRIMARY KEY (version);

--
-- Name: task_attempts task_attempts_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.task_attempts
    ADD CONSTRAINT task_attempts_pkey PRIMARY KEY (task_id, attempt);

--
-- Name: task_counts task_counts_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.task_counts
    ADD CONSTRAINT task_counts_pkey PRIMARY KEY (type, status);

--
-- Name: task_dependencies task_dependencies_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.task_dependencies
    ADD CONSTRAINT task_dependencies_pkey PRIMARY KEY (depends_on, task_id);

--
-- Name: task_files task_files_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.task_files
    ADD CONSTRAINT task_files_pkey PRIMARY KEY (id);

--
-- Name: task_providers task_providers_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.task_providers
    ADD CONSTRAINT task_providers_pkey PRIMARY KEY (id);

--
-- Name: task_rollups task_rollups_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.task_rollups
    ADD CONSTRAINT task_rollups_pkey PRIMARY KEY (minute, type);

--
-- Name: task_type_settings task_type_settings_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.task_type_settings
    ADD CONSTRAINT task_type_settings_pkey PRIMARY KEY (type);

--
-- Name: tasks tasks_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.tasks
    ADD CONSTRAINT tasks_pkey PRIMARY KEY (id);

--
-- Name: users users_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_pkey PRIMARY KEY (name);

--
-- Name: webhook_deliveries webhook_deliveries_delivery_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.webhook_deliveries
    ADD CONSTRAINT webhook_deliveries_delivery_id_key UNIQUE (delivery_id);

--
-- Name: webhook_deliveries webhook_deliveries_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.webhook_deliveries
    ADD CONSTRAINT webhook_deliveries_pkey PRIMARY KEY (id);

--
-- Name: worker_activity worker_activity_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.worker_activity
    ADD CONSTRAINT worker_activity_pkey PRIMARY KEY (app_id, server_id);

--
-- Name: app_passwords_user_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX app_passwords_user_idx ON public.app_passwords USING btree (user_name);

--
-- Name: dashboard_sessions_expires_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX dashboard_sessions_expires_idx ON public.dashboard_sessions USING btree (expires_at);

--
-- Name: dashboard_sessions_user_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX dashboard_sessions_user_idx ON public.dashboard_sessions USING btree (user_name);

--
-- Name: idempotency_keys_age_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX idempotency_keys_age_idx ON public.idempotency_keys USING btree (created_at);

--
-- Name: idempotency_keys_task_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX idempotency_keys_task_idx ON public.idempotency_keys USING btree (task_id);

--
-- Name: provider_triggers_due_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX provider_triggers_due_idx ON public.provider_triggers USING btree (due_at) WHERE (given_up_at IS NULL);

--
-- Name: task_attempts_ended_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX task_attempts_ended_idx ON public.task_attempts USING brin (ended_at);

--
-- Name: task_files_task_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX task_files_task_idx ON public.task_files USING btree (task_id);

--
-- Name: task_files_unattached_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX task_files_unattached_idx ON public.task_files USING btree (created_at) WHERE (task_id IS NULL);

--
-- Name: task_providers_type_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX task_providers_type_idx ON public.task_providers USING btree (task_type, registered_at, id);

--
-- Name: tasks_claim_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX tasks_claim_idx ON public.tasks USING btree (type, priority DESC, id) WHERE ((status = 1) AND (run_after IS NULL));

--
-- Name: tasks_cleanup_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX tasks_cleanup_idx ON public.tasks USING btree (last_updated) WHERE (((status >= 3) AND (status <= 5)) AND allow_cleanup);

--
-- Name: tasks_delayed_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX tasks_delayed_idx ON public.tasks USING btree (run_after) WHERE ((status = 1) AND (run_after IS NOT NULL));

--
-- Name: tasks_inputs_to_resolve_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX tasks_inputs_to_resolve_idx ON public.tasks USING btree (id) WHERE ((status = 6) AND (waiting_for = '{}'::bigint[]));

--
-- Name: tasks_lease_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX tasks_lease_idx ON public.tasks USING btree (lease_expires_at) WHERE (status = 2);

--
-- Name: tasks_owner_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX tasks_owner_idx ON public.tasks USING btree (user_id, app_id, custom_id);

--
-- Name: tasks_type_status_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX tasks_type_status_idx ON public.tasks USING btree (type, status, id) WHERE (status <> 3);

--
-- Name: webhook_deliveries_due_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX webhook_deliveries_due_idx ON public.webhook_deliveries USING btree (next_attempt_at) WHERE (status = 'pending'::text);

--
-- Name: webhook_deliveries_failed_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX webhook_deliveries_failed_idx ON public.webhook_deliveries USING btree (id) WHERE (status = 'failed'::text);

--
-- Name: webhook_deliveries_task_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX webhook_deliveries_task_idx ON public.webhook_deliveries USING btree (task_id);

--
-- Name: custom_task_types custom_task_types_changed; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER custom_task_types_changed AFTER INSERT OR DELETE OR UPDATE ON public.custom_task_types FOR EACH STATEMENT EXECUTE FUNCTION public.provider_catalog_changed();

--
-- Name: preferred_providers preferred_providers_changed; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER preferred_providers_changed AFTER INSERT OR DELETE OR UPDATE ON public.preferred_providers FOR EACH STATEMENT EXECUTE FUNCTION public.provider_catalog_changed();

--
-- Name: task_providers task_providers_changed; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER task_providers_changed AFTER INSERT OR DELETE OR UPDATE ON public.task_providers FOR EACH STATEMENT EXECUTE FUNCTION public.provider_catalog_changed();

--
-- Name: tasks tasks_count_deletes; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER tasks_count_deletes AFTER DELETE ON public.tasks REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION public.task_counts_after_delete();

--
-- Name: tasks tasks_count_inserts; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER tasks_count_inserts AFTER INSERT ON public.tasks REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.task_counts_after_insert();

--
-- Name: tasks tasks_count_updates; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER tasks_count_updates AFTER UPDATE ON public.tasks REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.task_counts_after_update();

--
-- Name: tasks tasks_delete_attempts; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER tasks_delete_attempts AFTER DELETE ON public.tasks REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION public.task_attempts_delete_with_tasks();

--
-- Name: tasks tasks_dependencies_attach; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER tasks_dependencies_attach BEFORE INSERT OR UPDATE OF status, waiting_for ON public.tasks FOR EACH ROW WHEN (((new.status = 6) AND (new.waiting_for IS NULL))) EXECUTE FUNCTION public.tasks_dependencies_attach();

--
-- Name: tasks tasks_dependencies_delete; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER tasks_dependencies_delete AFTER DELETE ON public.tasks FOR EACH ROW WHEN (((old.depends_on IS NOT NULL) OR old.has_successors)) EXECUTE FUNCTION public.tasks_dependencies_detach();

--
-- Name: tasks tasks_dependencies_detach; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER tasks_dependencies_detach AFTER UPDATE OF status ON public.tasks FOR EACH ROW WHEN (((new.depends_on IS NOT NULL) AND ((new.status >= 3) AND (new.status <= 5)) AND ((old.status < 3) OR (old.status > 5)))) EXECUTE FUNCTION public.tasks_dependencies_detach();

--
-- Name: tasks tasks_dependencies_settle; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER tasks_dependencies_settle AFTER UPDATE OF status ON public.tasks FOR EACH ROW WHEN ((new.has_successors AND (((new.status >= 3) AND (new.status <= 5)) IS DISTINCT FROM ((old.status >= 3) AND (old.status <= 5))))) EXECUTE FUNCTION public.tasks_dependencies_after_status();

--
-- Name: tasks tasks_notify_ready_inserts; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER tasks_notify_ready_inserts AFTER INSERT ON public.tasks REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.tasks_notify_ready();

--
-- Name: tasks tasks_notify_ready_updates; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER tasks_notify_ready_updates AFTER UPDATE ON public.tasks REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.tasks_notify_ready();

--
-- Name: tasks tasks_record_requeued_attempt; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER tasks_record_requeued_attempt AFTER UPDATE OF status ON public.tasks FOR EACH ROW WHEN (((old.status = 2) AND ((new.status = 1) OR ((new.status = 4) AND (new.claimed_by IS NULL))))) EXECUTE FUNCTION public.task_attempts_record_requeue();

--
-- Name: tasks tasks_webhook_outbox; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER tasks_webhook_outbox AFTER UPDATE OF status ON public.tasks FOR EACH ROW WHEN (((new.status = ANY (ARRAY[3, 4, 5])) AND (old.status IS DISTINCT FROM new.status) AND (new.webhook_uri IS NOT NULL))) EXECUTE FUNCTION public.webhook_outbox_after_finish();

--
-- Name: tasks tasks_webhook_outbox_on_insert; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER tasks_webhook_outbox_on_insert AFTER INSERT ON public.tasks FOR EACH ROW WHEN (((new.status = ANY (ARRAY[3, 4, 5])) AND (new.webhook_uri IS NOT NULL))) EXECUTE FUNCTION public.webhook_outbox_after_finish();

--
-- Name: app_passwords app_passwords_user_name_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.app_passwords
    ADD CONSTRAINT app_passwords_user_name_fkey FOREIGN KEY (user_name) REFERENCES public.users(name) ON DELETE CASCADE;

--
-- Name: custom_task_types custom_task_types_app_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.custom_task_types
    ADD CONSTRAINT custom_task_types_app_id_fkey FOREIGN KEY (app_id) REFERENCES public.ex_apps(app_id) ON DELETE CASCADE;

--
-- Name: dashboard_sessions dashboard_sessions_user_name_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.dashboard_sessions
    ADD CONSTRAINT dashboard_sessions_user_name_fkey FOREIGN KEY (user_name) REFERENCES public.users(name) ON DELETE CASCADE;

--
-- Name: idempotency_keys idempotency_keys_task_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.idempotency_keys
    ADD CONSTRAINT idempotency_keys_task_id_fkey FOREIGN KEY (task_id) REFERENCES public.tasks(id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED;

--
-- Name: preferred_providers preferred_providers_provider_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.preferred_providers
    ADD CONSTRAINT preferred_providers_provider_id_fkey FOREIGN KEY (provider_id) REFERENCES public.task_providers(id) ON DELETE CASCADE;

--
-- Name: provider_triggers provider_triggers_provider_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.provider_triggers
    ADD CONSTRAINT provider_triggers_provider_id_fkey FOREIGN KEY (provider_id) REFERENCES public.task_providers(id) ON DELETE CASCADE;

--
-- Name: task_files task_files_task_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.task_files
    ADD CONSTRAINT task_files_task_id_fkey FOREIGN KEY (task_id) REFERENCES public.tasks(id) ON DELETE CASCADE;

--
-- Name: task_providers task_providers_app_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.task_providers
    ADD CONSTRAINT task_providers_app_id_fkey FOREIGN KEY (app_id) REFERENCES public.ex_apps(app_id) ON DELETE CASCADE;

--
-- Name: webhook_deliveries webhook_deliveries_task_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.webhook_deliveries
    ADD CONSTRAINT webhook_deliveries_task_id_fkey FOREIGN KEY (task_id) REFERENCES public.tasks(id) ON DELETE CASCADE;
