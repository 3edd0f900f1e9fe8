/// The schema, as an ordered list of migrations, one file each (`MigrationNN<Name>.swift`).
///
/// Append only: a released migration never changes, because databases that already ran it
/// would not run it again. `MigrationChecksumTests` pins each one's SQL, and ``SchemaMigrator``
/// refuses a database whose recorded checksum differs. `schema.sql` next to these files is the
/// schema they add up to.
public enum SchemaMigrations {
    public static let all: [SchemaMigration] = [
        initialSchema, leases, idempotencyKeys, delaysAndRetention, providers, filesAndRateLimits,
        webhookOutbox, readyNotifications, shapesAsText, operations, dependencies, dashboard, providerTriggers,
    ]
}
