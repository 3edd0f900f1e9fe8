import Logging
import Postgres

/// Brings a database up to the newest schema. Safe when several servers start at once: the run
/// is one transaction holding a transaction-scoped advisory lock, so one server migrates while
/// the others wait and then find nothing left to do. Nothing outlives that transaction, which
/// a transaction pooler (PgBouncer) needs: a session lock taken through it stays with whichever
/// server connection ran the statement, and its unlock may run on another.
///
/// Each applied migration's ``SchemaMigration/checksum`` is recorded; a run refuses to start
/// when a recorded checksum differs from the code's (a released migration was edited), and
/// fills in the checksums of migrations that databases recorded before checksums existed.
public struct SchemaMigrator: Sendable {
    /// An arbitrary constant that names this project's migration lock.
    static let advisoryLockKey: Int64 = 0x7461_736b_6469_7370  // "taskdisp"

    public let migrations: [SchemaMigration]
    let logger: Logger

    public init(migrations: [SchemaMigration] = SchemaMigrations.all, logger: Logger) {
        self.migrations = migrations
        self.logger = logger
    }

    /// Applies every migration not yet recorded, all in one transaction, so a failing migration
    /// leaves the schema as it was. Returns the versions applied.
    ///
    /// - Throws: ``SchemaMigrationError/checksumMismatch(version:name:recorded:expected:)`` before
    ///   applying anything when an applied migration's recorded checksum is not the code's.
    @discardableResult
    public func migrate(_ connection: PostgresConnection) throws -> [Int] {
        let run = try connection.transaction { connection in
            _ = try connection.query("SELECT pg_advisory_xact_lock($1)", [Self.advisoryLockKey])
            try Self.prepareBookkeeping(connection)
            let recorded = try Self.recordedChecksums(connection)
            var checksumsFilledIn: [SchemaMigration] = []
            var newlyApplied: [SchemaMigration] = []
            for migration in migrations.sorted(by: { $0.version < $1.version }) {
                switch recorded[migration.version] {
                case .some(.some(let checksum)):
                    guard checksum == migration.checksum else {
                        throw SchemaMigrationError.checksumMismatch(
                            version: migration.version, name: migration.name, recorded: checksum, expected: migration.checksum)
                    }
                case .some(.none):
                    _ = try connection.query(
                        "UPDATE schema_migrations SET checksum = $1 WHERE version = $2", [migration.checksum, migration.version])
                    checksumsFilledIn.append(migration)
                case .none:
                    try connection.execute(migration.sql)
                    _ = try connection.query(
                        "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                        [migration.version, migration.name, migration.checksum])
                    newlyApplied.append(migration)
                }
            }
            return (checksumsFilledIn: checksumsFilledIn, newlyApplied: newlyApplied)
        }
        for migration in run.checksumsFilledIn {
            logger.info("recorded the checksum of an earlier schema migration",
                        metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
        }
        for migration in run.newlyApplied {
            logger.info("applied schema migration", metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
        }
        return run.newlyApplied.map(\.version)
    }

    /// Creates the bookkeeping table, or adds the checksum column to one made before checksums
    /// were recorded. The column is added rather than part of `CREATE TABLE`, so old and new
    /// databases end up with the same table; both statements are no-ops once done, and run under
    /// the advisory lock, so concurrent runs never race on them.
    private static func prepareBookkeeping(_ connection: PostgresConnection) throws {
        try connection.execute("""
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version     integer PRIMARY KEY,
                name        text NOT NULL,
                applied_at  timestamptz NOT NULL DEFAULT now()
            )
            """)
        // SHA-256 of the migration's SQL in hex; NULL for rows recorded before checksums were.
        try connection.execute("ALTER TABLE schema_migrations ADD COLUMN IF NOT EXISTS checksum text")
    }

    /// Every recorded version with its checksum (`nil` where none was recorded yet).
    private static func recordedChecksums(_ connection: PostgresConnection) throws -> [Int: String?] {
        var recorded: [Int: String?] = [:]
        for row in try connection.query("SELECT version, checksum FROM schema_migrations").rows {
            guard let version = row.int("version") else { continue }
            recorded[version] = row.string("checksum")
        }
        return recorded
    }
}
