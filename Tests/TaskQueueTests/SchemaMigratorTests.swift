import Foundation
import Postgres
import Synchronization
import TaskDispatchTesting
import Testing
@testable import TaskQueue

@Suite("Schema migrations")
struct SchemaMigratorTests {
    @Test("eight servers migrating one database at once apply each migration exactly once")
    func concurrentMigrations() throws {
        let connectionString = try TestDatabase.create(prefix: "migrate")
        let applied = Mutex<[[Int]]>([])
        let failures = Mutex<[String]>([])
        onThreads(8) { _ in
            do {
                let connection = try PostgresConnection(connectionString: connectionString, logger: StoreFixture.logger)
                defer { connection.close() }
                let versions = try SchemaMigrator(logger: StoreFixture.logger).migrate(connection)
                applied.withLock { $0.append(versions) }
            } catch {
                failures.withLock { $0.append("\(error)") }
            }
        }
        #expect(failures.withLock { $0 } == [])
        let runs = applied.withLock { $0 }
        #expect(runs.count == 8)
        #expect(runs.filter { !$0.isEmpty } == [SchemaMigrations.all.map(\.version)], "one run applied everything, the rest nothing")

        let connection = try PostgresConnection(connectionString: connectionString, logger: StoreFixture.logger)
        defer { connection.close() }
        let recorded = try connection.query("SELECT version FROM schema_migrations ORDER BY version").rows.compactMap { $0.int("version") }
        #expect(recorded == SchemaMigrations.all.map(\.version))
        #expect(try SchemaMigrator(logger: StoreFixture.logger).migrate(connection) == [])
    }

    @Test("a failing migration rolls the whole run back: no table of the run is left, nothing is recorded, and no lock is held")
    func failingRunLeavesNothing() throws {
        let connectionString = try TestDatabase.create(prefix: "migrate_fail")
        let connection = try PostgresConnection(connectionString: connectionString, logger: StoreFixture.logger)
        defer { connection.close() }
        let broken = SchemaMigration(version: 1_000, name: "broken", sql: "SELECT no_such_function()")
        #expect(throws: PostgresError.self) {
            try SchemaMigrator(migrations: SchemaMigrations.all + [broken], logger: StoreFixture.logger).migrate(connection)
        }
        let left = try connection.query(
            "SELECT to_regclass('schema_migrations') IS NULL AS none, to_regclass('tasks') IS NULL AS no_tasks"
        ).rows.first
        #expect(left?.bool("none") == true && left?.bool("no_tasks") == true)
        let locks = try connection.query(
            "SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")
        #expect(locks[0].int("n") == 0)
        #expect(try SchemaMigrator(logger: StoreFixture.logger).migrate(connection) == SchemaMigrations.all.map(\.version))
    }

    @Test("each applied migration's checksum is recorded")
    func checksumsRecorded() throws {
        let connection = try PostgresConnection(connectionString: try TestDatabase.create(prefix: "migrate_checksums"), logger: StoreFixture.logger)
        defer { connection.close() }
        try SchemaMigrator(logger: StoreFixture.logger).migrate(connection)
        #expect(try recordedChecksums(connection) == SchemaMigrations.all.map { "\($0.version) \($0.checksum)" })
    }

    @Test("a database whose recorded checksum differs from the code's is refused, naming the version, before anything is applied")
    func changedMigrationIsRefused() throws {
        let connection = try PostgresConnection(connectionString: try TestDatabase.create(prefix: "migrate_tampered"), logger: StoreFixture.logger)
        defer { connection.close() }
        try SchemaMigrator(logger: StoreFixture.logger).migrate(connection)
        let tampered = String(repeating: "0", count: 64)
        _ = try connection.query("UPDATE schema_migrations SET checksum = $1 WHERE version = 4", [tampered])

        let next = SchemaMigration(version: 1_000, name: "next", sql: "CREATE TABLE next_table (id integer)")
        let changed = SchemaMigrations.delaysAndRetention
        let error = #expect(throws: SchemaMigrationError.self) {
            try SchemaMigrator(migrations: SchemaMigrations.all + [next], logger: StoreFixture.logger).migrate(connection)
        }
        #expect(error == .checksumMismatch(version: 4, name: changed.name, recorded: tampered, expected: changed.checksum))
        let message = error.map { "\($0)" } ?? ""
        #expect(message.contains("schema migration 4 (delayed tasks and retention)"), "\(message)")
        #expect(message.contains("a released migration never changes"), "\(message)")

        let after = try connection.query(
            "SELECT to_regclass('next_table') IS NULL AS not_applied, (SELECT count(*) FROM schema_migrations WHERE version = 1000) AS recorded")
        #expect(after[0].bool("not_applied") == true && after[0].int("recorded") == 0)
        // Refusal is not sticky: with the record put back, the run goes on.
        _ = try connection.query("UPDATE schema_migrations SET checksum = $1 WHERE version = 4", [changed.checksum])
        #expect(try SchemaMigrator(migrations: SchemaMigrations.all + [next], logger: StoreFixture.logger).migrate(connection) == [1_000])
    }

    @Test("a database migrated before checksums were recorded gets the column and its checksums on the next run")
    func missingChecksumsAreFilledIn() throws {
        let connection = try PostgresConnection(connectionString: try TestDatabase.create(prefix: "migrate_fill_in"), logger: StoreFixture.logger)
        defer { connection.close() }
        try SchemaMigrator(logger: StoreFixture.logger).migrate(connection)
        // The bookkeeping table as releases without checksums left it.
        try connection.execute("ALTER TABLE schema_migrations DROP COLUMN checksum")
        #expect(try SchemaMigrator(logger: StoreFixture.logger).migrate(connection) == [])
        #expect(try recordedChecksums(connection) == SchemaMigrations.all.map { "\($0.version) \($0.checksum)" })

        // A row without one among rows with one (say a run interrupted by hand) is filled in too.
        _ = try connection.query("UPDATE schema_migrations SET checksum = NULL WHERE version = 7")
        #expect(try SchemaMigrator(logger: StoreFixture.logger).migrate(connection) == [])
        #expect(try recordedChecksums(connection) == SchemaMigrations.all.map { "\($0.version) \($0.checksum)" })
    }

    @Test("migration versions are unique and ascending")
    func versions() {
        let versions = SchemaMigrations.all.map(\.version)
        #expect(versions == versions.sorted())
        #expect(Set(versions).count == versions.count)
    }

    /// `"<version> <checksum>"` per recorded migration, in version order.
    private func recordedChecksums(_ connection: PostgresConnection) throws -> [String] {
        try connection.query("SELECT version, checksum FROM schema_migrations ORDER BY version").rows
            .map { "\($0.int("version") ?? -1) \($0.string("checksum") ?? "none")" }
    }
}
