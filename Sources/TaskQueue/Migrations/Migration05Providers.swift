extension SchemaMigrations {
    /// Version 5: custom task types, task providers, the preferred provider per type, and the
    /// catalog version that tells a server its snapshot of them is stale.
    static let providers = SchemaMigration(version: 5, name: "task providers and custom task types", sql: #"""
        -- Task types beyond the core ones, registered by an ExApp with its provider (app_id) or by
        -- an administrator (app_id NULL). Shapes are JSON arrays of {key, name, description, type}
        -- (arrays keep the slot order); enum values and defaults are JSON objects by slot key.
        CREATE TABLE custom_task_types (
            id                                 text PRIMARY KEY,
            app_id                             text REFERENCES ex_apps (app_id) ON DELETE CASCADE,
            name                               text NOT NULL,
            description                        text NOT NULL,
            input_shape                        jsonb NOT NULL DEFAULT '[]',
            optional_input_shape               jsonb NOT NULL DEFAULT '[]',
            output_shape                       jsonb NOT NULL DEFAULT '[]',
            optional_output_shape              jsonb NOT NULL DEFAULT '[]',
            input_shape_enum_values            jsonb NOT NULL DEFAULT '{}',
            optional_input_shape_enum_values   jsonb NOT NULL DEFAULT '{}',
            output_shape_enum_values           jsonb NOT NULL DEFAULT '{}',
            optional_output_shape_enum_values  jsonb NOT NULL DEFAULT '{}',
            input_shape_defaults               jsonb NOT NULL DEFAULT '{}',
            optional_input_shape_defaults      jsonb NOT NULL DEFAULT '{}',
            created_at                         timestamptz NOT NULL DEFAULT now()
        );

        -- Who processes a task type. Tasks do not reference providers: a task keeps its type and
        -- its expected completion time when its provider goes, and is claimable again once a
        -- provider for the type is back. task_type is not a foreign key because the core types
        -- live in code; the store checks it, locking a custom type's row while it does.
        -- A provider adds optional slots, enum values and defaults to its type (stored like a
        -- custom type's); the preferred provider's additions are part of the type as listed.
        CREATE TABLE task_providers (
            id                                 text PRIMARY KEY,
            app_id                             text REFERENCES ex_apps (app_id) ON DELETE CASCADE,
            display_name                       text NOT NULL,
            task_type                          text NOT NULL,
            expected_runtime                   integer NOT NULL DEFAULT 0 CHECK (expected_runtime >= 0),
            optional_input_shape               jsonb NOT NULL DEFAULT '[]',
            optional_output_shape              jsonb NOT NULL DEFAULT '[]',
            input_shape_enum_values            jsonb NOT NULL DEFAULT '{}',
            optional_input_shape_enum_values   jsonb NOT NULL DEFAULT '{}',
            output_shape_enum_values           jsonb NOT NULL DEFAULT '{}',
            optional_output_shape_enum_values  jsonb NOT NULL DEFAULT '{}',
            input_shape_defaults               jsonb NOT NULL DEFAULT '{}',
            optional_input_shape_defaults      jsonb NOT NULL DEFAULT '{}',
            registered_at                      timestamptz NOT NULL DEFAULT now()
        );
        -- "The first registered provider of a type" is the first row in this order.
        CREATE INDEX task_providers_type_idx ON task_providers (task_type, registered_at, id);

        -- The administrator's choice per task type; it goes with its provider.
        CREATE TABLE preferred_providers (
            task_type    text PRIMARY KEY,
            provider_id  text NOT NULL REFERENCES task_providers (id) ON DELETE CASCADE,
            chosen_at    timestamptz NOT NULL DEFAULT now()
        );

        -- One counter that every change to the three tables above bumps in its own transaction
        -- (cascades included), so a server process checks with one row read whether its
        -- snapshot of them is still current.
        CREATE TABLE provider_catalog_version (
            singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
            version    bigint NOT NULL
        );
        INSERT INTO provider_catalog_version (version) VALUES (0);
        CREATE FUNCTION provider_catalog_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE provider_catalog_version SET version = version + 1;
            RETURN NULL;
        END $$;
        CREATE TRIGGER custom_task_types_changed AFTER INSERT OR UPDATE OR DELETE ON custom_task_types
            FOR EACH STATEMENT EXECUTE FUNCTION provider_catalog_changed();
        CREATE TRIGGER task_providers_changed AFTER INSERT OR UPDATE OR DELETE ON task_providers
            FOR EACH STATEMENT EXECUTE FUNCTION provider_catalog_changed();
        CREATE TRIGGER preferred_providers_changed AFTER INSERT OR UPDATE OR DELETE ON preferred_providers
            FOR EACH STATEMENT EXECUTE FUNCTION provider_catalog_changed();
        """#)
}
