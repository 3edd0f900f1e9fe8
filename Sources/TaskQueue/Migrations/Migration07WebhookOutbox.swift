extension SchemaMigrations {
    /// Version 7: the webhook outbox, filled by a trigger when a task with a webhook finishes.
    static let webhookOutbox = SchemaMigration(version: 7, name: "webhook outbox", sql: #"""
        -- One row per webhook call owed: written by a trigger in the transaction that finishes the
        -- task (an outbox), so no path that ends a task can forget it and no call is owed for a
        -- change that rolled back. The sender claims due rows like leases (attempts + 1,
        -- next_attempt_at pushed past the request timeout), so a sender that dies mid-call leaves
        -- the row due again, and the same delivery_id goes out on every attempt.
        CREATE TABLE webhook_deliveries (
            id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            delivery_id      uuid NOT NULL DEFAULT gen_random_uuid() UNIQUE,
            task_id          bigint NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
            uri              text NOT NULL,
            method           text NOT NULL,
            status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
            attempts         integer NOT NULL DEFAULT 0,
            next_attempt_at  timestamptz NOT NULL DEFAULT now(),
            last_status      integer,
            last_error       text,
            created_at       timestamptz NOT NULL DEFAULT now(),
            delivered_at     timestamptz
        );
        -- Due deliveries for the sender; partial, so it holds only what is still owed.
        CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
        CREATE INDEX webhook_deliveries_failed_idx ON webhook_deliveries (id) WHERE status = 'failed';
        -- For the cascade when a task is deleted, and retention's check for owed deliveries.
        CREATE INDEX webhook_deliveries_task_idx ON webhook_deliveries (task_id);

        CREATE FUNCTION webhook_outbox_after_finish() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO webhook_deliveries (task_id, uri, method)
            VALUES (NEW.id, NEW.webhook_uri, coalesce(NEW.webhook_method, 'HTTP:POST'));
            RETURN NULL;
        END $$;

        -- The WHEN clause is evaluated without calling the function, so tasks without a webhook,
        -- and updates that do not finish a task, cost nothing. 3, 4, 5: successful, failed, cancelled.
        CREATE TRIGGER tasks_webhook_outbox AFTER UPDATE OF status ON tasks
            FOR EACH ROW
            WHEN (NEW.status IN (3, 4, 5) AND OLD.status IS DISTINCT FROM NEW.status AND NEW.webhook_uri IS NOT NULL)
            EXECUTE FUNCTION webhook_outbox_after_finish();
        """#)
}
