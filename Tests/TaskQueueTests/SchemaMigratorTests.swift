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

    @Test("migration versions are unique and ascending")
    func versions() {
        let versions = SchemaMigrations.all.map(\.version)
        #expect(versions == versions.sorted())
        #expect(Set(versions).count == versions.count)
    }
}
