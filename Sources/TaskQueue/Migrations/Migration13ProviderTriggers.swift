extension SchemaMigrations {
    /// Provider triggers (Nextcloud 33's `ITriggerableProvider`): the server calls an ExApp's
    /// `POST <base URL>/trigger?providerId=…` when work arrives for its provider.
    ///
    /// - `ex_apps.base_url`: where the ExApp serves (set by an administrator); NULL: never called.
    /// - `ex_apps.sealed_secret`: the app's secret sealed (AES-256-GCM) under the servers' key
    ///   file, since the call must present the secret in clear and the hash cannot give it
    ///   back. The key is never in the database. NULL for apps registered before this version.
    /// - `ex_apps.last_triggered_at`: the last call the app answered with a 2xx.
    /// - `provider_triggers`: one row per provider owed or recently sent a call: the row is the
    ///   coalescing. A request inserts it `ON CONFLICT DO NOTHING`, so a burst of schedules
    ///   through any number of server processes leaves one row and one call; a sender claims
    ///   due rows `FOR UPDATE SKIP LOCKED` and holds them (`in_flight_until`) during the call.
    ///   After an answered call the row stays until `due_at` (new work in that time rides on the
    ///   call just made), then is deleted if the type's queue was taken, else called again.
    ///   `given_up_at`: the attempts ran out; shown to operators until work arrives again.
    static let providerTriggers = SchemaMigration(version: 13, name: "provider triggers", sql: #"""
        ALTER TABLE ex_apps
            ADD COLUMN base_url text,
            ADD COLUMN sealed_secret bytea,
            ADD COLUMN last_triggered_at timestamptz;

        CREATE TABLE provider_triggers (
            provider_id     text PRIMARY KEY REFERENCES task_providers (id) ON DELETE CASCADE,
            requested_at    timestamptz NOT NULL DEFAULT now(),
            due_at          timestamptz NOT NULL DEFAULT now(),
            attempts        integer NOT NULL DEFAULT 0,
            sent_at         timestamptz,
            in_flight_until timestamptz,
            last_error      text,
            given_up_at     timestamptz
        );
        CREATE INDEX provider_triggers_due_idx ON provider_triggers (due_at) WHERE given_up_at IS NULL;
        """#)
}
