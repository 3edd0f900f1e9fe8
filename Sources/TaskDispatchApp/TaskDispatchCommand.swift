import ArgumentParser
import Foundation
import Logging
import Postgres
import TaskQueue

/// The `taskdispatch` commands this target defines: the server and its administration. The
/// executable assembles them (with the benchmark's) under one root command.
public enum TaskDispatchCommands {
    public static let abstract = "Dispatches tasks from apps to workers over Nextcloud's TaskProcessing OCS API."
    public static let version = TaskDispatchVersion.current
    /// `serve`, the command run when none is named.
    public static let serve: any ParsableCommand.Type = ServeCommand.self
    public static let all: [any ParsableCommand.Type] = [
        ServeCommand.self, MigrateCommand.self, CleanupCommand.self, UserCommand.self, AppCommand.self, ProviderCommand.self,
        TypeCommand.self, TaskCommand.self,
    ]
}

/// Options every command that touches the database shares.
struct DatabaseOptions: ParsableArguments {
    @Option(help: ServerSettings.argumentHelp("database-url")) var databaseURL: String?
    @Option(help: ServerSettings.argumentHelp("data-dir")) var dataDir: String?
    @Option(help: ServerSettings.argumentHelp("log-level")) var logLevel: String?
    @Option(help: ServerSettings.argumentHelp("log-format")) var logFormat: String?

    var flags: [String: String] {
        var flags: [String: String] = [:]
        flags["database-url"] = databaseURL
        flags["data-dir"] = dataDir
        flags["log-level"] = logLevel
        flags["log-format"] = logFormat
        return flags
    }
}

/// Sets up logging once and runs `body` against the configured database.
func withDatabase<T>(
    _ configuration: ServerConfiguration, _ body: (DatabaseLocation, Logger) throws -> T
) throws -> T {
    LoggingSystem.bootstrap { label in
        switch configuration.logFormat {
        case .text:
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = configuration.logLevel
            return handler
        case .json:
            var handler = JSONLogHandler(label: label)
            handler.logLevel = configuration.logLevel
            return handler
        }
    }
    let logger = Logger(label: "taskdispatch")
    let database = try DatabaseLocation.open(configuration, logger: logger)
    defer { database.close() }
    return try body(database, logger)
}

/// Runs `body` with a one-connection pool over the configured, migrated database: what the
/// administration commands need.
func withMigratedPool(_ options: DatabaseOptions, extraFlags: [String: String] = [:], _ body: (PostgresConnectionPool, ServerConfiguration) throws -> Void) throws {
    let (configuration, deprecations) = try ServerConfiguration.resolveWithWarnings(
        flags: options.flags.merging(extraFlags) { _, extra in extra })
    try withDatabase(configuration) { database, logger in
        for deprecation in deprecations { logger.warning("\(deprecation)") }
        let pool = PostgresConnectionPool(
            configuration: PostgresPoolConfiguration(
                connectionString: database.connectionString, maxConnections: 1,
                usesPreparedStatements: configuration.preparedStatements),
            logger: logger)
        defer { pool.close() }
        _ = try pool.withConnection { try SchemaMigrator(logger: logger).migrate($0) }
        try body(pool, configuration)
    }
}

/// Runs `body` with the account store, for the user and app commands.
func withAccounts(_ options: DatabaseOptions, _ body: (AccountStore) throws -> Void) throws {
    try withMigratedPool(options) { pool, _ in try body(AccountStore(pool: pool)) }
}
