import ArgumentParser
import Foundation
import Logging
import Postgres
import TaskQueue

struct MigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate", abstract: "Bring the database schema up to date (serve does this too).")

    @OptionGroup var database: DatabaseOptions

    func run() throws {
        let configuration = try ServerConfiguration.resolve(flags: database.flags)
        try withDatabase(configuration) { database, logger in
            let connection = try PostgresConnection(
                connectionString: database.connectionString, usesPreparedStatements: configuration.preparedStatements, logger: logger)
            defer { connection.close() }
            let applied = try SchemaMigrator(logger: logger).migrate(connection)
            print(applied.isEmpty ? "schema is up to date" : "applied migrations: \(applied.map(String.init).joined(separator: ", "))")
        }
    }
}

struct CleanupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cleanup",
        abstract: "Delete finished tasks (with allowCleanup) older than the retention, in small batches (serve does this too).")

    @OptionGroup var database: DatabaseOptions
    @Option(help: "Age in seconds (default: the configured retention, env TASKDISPATCH_RETENTION_SECONDS).")
    var olderThan: Int?

    func run() throws {
        try withMigratedPool(database, extraFlags: olderThan.map { ["retention-seconds": String($0)] } ?? [:]) { pool, configuration in
            let tasks = TaskStore(pool: pool)
            var deleted = 0
            while case let batch = try tasks.deleteFinishedTasks(olderThanSeconds: configuration.retentionSeconds), batch > 0 {
                deleted += batch
            }
            print("deleted \(deleted) finished tasks older than \(configuration.retentionSeconds) s")
        }
    }
}
