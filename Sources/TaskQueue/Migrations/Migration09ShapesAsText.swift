extension SchemaMigrations {
    /// The shape columns of providers and custom types become text, like the task input and
    /// output columns. `jsonb` does not give back what it was given: it stores `1e300` as a
    /// number and prints it as a 301-digit integer, which no 64-bit JSON parser reads. Text holds
    /// the server's own serialization, which its parser reads back to the same value. Rows that
    /// `jsonb` already rewrote stay as they are; the server skips those it cannot read.
    static let shapesAsText = SchemaMigration(version: 9, name: "shape columns as text", sql: #"""
        ALTER TABLE custom_task_types
            ALTER COLUMN input_shape                       DROP DEFAULT,
            ALTER COLUMN optional_input_shape              DROP DEFAULT,
            ALTER COLUMN output_shape                      DROP DEFAULT,
            ALTER COLUMN optional_output_shape             DROP DEFAULT,
            ALTER COLUMN input_shape_enum_values           DROP DEFAULT,
            ALTER COLUMN optional_input_shape_enum_values  DROP DEFAULT,
            ALTER COLUMN output_shape_enum_values          DROP DEFAULT,
            ALTER COLUMN optional_output_shape_enum_values DROP DEFAULT,
            ALTER COLUMN input_shape_defaults              DROP DEFAULT,
            ALTER COLUMN optional_input_shape_defaults     DROP DEFAULT,
            ALTER COLUMN input_shape                       TYPE text USING input_shape::text,
            ALTER COLUMN optional_input_shape              TYPE text USING optional_input_shape::text,
            ALTER COLUMN output_shape                      TYPE text USING output_shape::text,
            ALTER COLUMN optional_output_shape             TYPE text USING optional_output_shape::text,
            ALTER COLUMN input_shape_enum_values           TYPE text USING input_shape_enum_values::text,
            ALTER COLUMN optional_input_shape_enum_values  TYPE text USING optional_input_shape_enum_values::text,
            ALTER COLUMN output_shape_enum_values          TYPE text USING output_shape_enum_values::text,
            ALTER COLUMN optional_output_shape_enum_values TYPE text USING optional_output_shape_enum_values::text,
            ALTER COLUMN input_shape_defaults              TYPE text USING input_shape_defaults::text,
            ALTER COLUMN optional_input_shape_defaults     TYPE text USING optional_input_shape_defaults::text,
            ALTER COLUMN input_shape                       SET DEFAULT '[]',
            ALTER COLUMN optional_input_shape              SET DEFAULT '[]',
            ALTER COLUMN output_shape                      SET DEFAULT '[]',
            ALTER COLUMN optional_output_shape             SET DEFAULT '[]',
            ALTER COLUMN input_shape_enum_values           SET DEFAULT '{}',
            ALTER COLUMN optional_input_shape_enum_values  SET DEFAULT '{}',
            ALTER COLUMN output_shape_enum_values          SET DEFAULT '{}',
            ALTER COLUMN optional_output_shape_enum_values SET DEFAULT '{}',
            ALTER COLUMN input_shape_defaults              SET DEFAULT '{}',
            ALTER COLUMN optional_input_shape_defaults     SET DEFAULT '{}';

        ALTER TABLE task_providers
            ALTER COLUMN optional_input_shape              DROP DEFAULT,
            ALTER COLUMN optional_output_shape             DROP DEFAULT,
            ALTER COLUMN input_shape_enum_values           DROP DEFAULT,
            ALTER COLUMN optional_input_shape_enum_values  DROP DEFAULT,
            ALTER COLUMN output_shape_enum_values          DROP DEFAULT,
            ALTER COLUMN optional_output_shape_enum_values DROP DEFAULT,
            ALTER COLUMN input_shape_defaults              DROP DEFAULT,
            ALTER COLUMN optional_input_shape_defaults     DROP DEFAULT,
            ALTER COLUMN optional_input_shape              TYPE text USING optional_input_shape::text,
            ALTER COLUMN optional_output_shape             TYPE text USING optional_output_shape::text,
            ALTER COLUMN input_shape_enum_values           TYPE text USING input_shape_enum_values::text,
            ALTER COLUMN optional_input_shape_enum_values  TYPE text USING optional_input_shape_enum_values::text,
            ALTER COLUMN output_shape_enum_values          TYPE text USING output_shape_enum_values::text,
            ALTER COLUMN optional_output_shape_enum_values TYPE text USING optional_output_shape_enum_values::text,
            ALTER COLUMN input_shape_defaults              TYPE text USING input_shape_defaults::text,
            ALTER COLUMN optional_input_shape_defaults     TYPE text USING optional_input_shape_defaults::text,
            ALTER COLUMN optional_input_shape              SET DEFAULT '[]',
            ALTER COLUMN optional_output_shape             SET DEFAULT '[]',
            ALTER COLUMN input_shape_enum_values           SET DEFAULT '{}',
            ALTER COLUMN optional_input_shape_enum_values  SET DEFAULT '{}',
            ALTER COLUMN output_shape_enum_values          SET DEFAULT '{}',
            ALTER COLUMN optional_output_shape_enum_values SET DEFAULT '{}',
            ALTER COLUMN input_shape_defaults              SET DEFAULT '{}',
            ALTER COLUMN optional_input_shape_defaults     SET DEFAULT '{}';
        """#)
}
