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

    @Test("migration versions are unique and ascending")
    func versions() {
        let versions = SchemaMigrations.all.map(\.version)
        #expect(versions == versions.sorted())
        #expect(Set(versions).count == versions.count)
    }
}
