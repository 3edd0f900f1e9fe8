import Logging
import Postgres

/// Brings a database up to the newest schema. Safe when several servers start at once: the run
/// is one transaction holding a transaction-scoped advisory lock, so one server migrates while
/// the others wait and then find nothing left to do. Nothing outlives that transaction, which
/// a transaction pooler (PgBouncer) needs: a session lock taken through it stays with whichever
/// server connection ran the statement, and its unlock may run on another.
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
    @discardableResult
    public func migrate(_ connection: PostgresConnection) throws -> [Int] {
        let newlyApplied = try connection.transaction { connection in
            _ = try connection.query("SELECT pg_advisory_xact_lock($1)", [Self.advisoryLockKey])
            try connection.execute("""
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version     integer PRIMARY KEY,
                    name        text NOT NULL,
                    applied_at  timestamptz NOT NULL DEFAULT now()
                )
                """)
            let applied = Set(try connection.query("SELECT version FROM schema_migrations").rows.compactMap { $0.int("version") })
            var newlyApplied: [SchemaMigration] = []
            for migration in migrations.sorted(by: { $0.version < $1.version }) where !applied.contains(migration.version) {
                try connection.execute(migration.sql)
                _ = try connection.query(
                    "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", [migration.version, migration.name])
                newlyApplied.append(migration)
            }
            return newlyApplied
        }
        for migration in newlyApplied {
            logger.info("applied schema migration", metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
        }
        return newlyApplied.map(\.version)
    }
}
