import ArgumentParser
import Foundation
import Logging
import Postgres
import TaskQueue

/// `taskdispatch`: the server and its administration.
public struct TaskDispatchCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "taskdispatch",
        abstract: "Dispatches tasks from apps to workers over Nextcloud's TaskProcessing OCS API.",
        version: TaskDispatchVersion.current,
        subcommands: [ServeCommand.self, MigrateCommand.self, CleanupCommand.self, UserCommand.self, AppCommand.self],
        defaultSubcommand: ServeCommand.self)

    public init() {}
}

/// Options every command that touches the database shares.
struct DatabaseOptions: ParsableArguments {
    @Option(help: "PostgreSQL connection string or URL (env DATABASE_URL). Without it, an embedded cluster is used.")
    var databaseURL: String?

    @Option(help: "Folder of the embedded cluster (env TASKDISPATCH_DATA_DIR).")
    var dataDir: String?

    @Option(help: "trace, debug, info, notice, warning, error or critical (env TASKDISPATCH_LOG_LEVEL).")
    var logLevel: String?

    var flags: [String: String] {
        var flags: [String: String] = [:]
        flags["database-url"] = databaseURL
        flags["data-dir"] = dataDir
        flags["log-level"] = logLevel
        return flags
    }
}

/// Sets up logging once and runs `body` against the configured database.
func withDatabase<T>(
    _ configuration: ServerConfiguration, _ body: (DatabaseLocation, Logger) throws -> T
) throws -> T {
    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = configuration.logLevel
        return handler
    }
    let logger = Logger(label: "taskdispatch")
    let database = try DatabaseLocation.open(configuration, logger: logger)
    defer { database.close() }
    return try body(database, logger)
}

/// Runs `body` with a migrated database's account store, for the admin commands.
func withAccounts(_ options: DatabaseOptions, _ body: (AccountStore) throws -> Void) throws {
    let configuration = try ServerConfiguration.resolve(flags: options.flags)
    try withDatabase(configuration) { database, logger in
        let pool = PostgresConnectionPool(
            configuration: PostgresPoolConfiguration(connectionString: database.connectionString, maxConnections: 1),
            logger: logger)
        defer { pool.close() }
        _ = try pool.withConnection { try SchemaMigrator(logger: logger).migrate($0) }
        try body(AccountStore(pool: pool))
    }
}

struct MigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate", abstract: "Bring the database schema up to date (serve does this too).")

    @OptionGroup var database: DatabaseOptions

    func run() throws {
        let configuration = try ServerConfiguration.resolve(flags: database.flags)
        try withDatabase(configuration) { database, logger in
            let connection = try PostgresConnection(connectionString: database.connectionString, logger: logger)
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
        var flags = database.flags
        flags["retention"] = olderThan.map(String.init)
        let configuration = try ServerConfiguration.resolve(flags: flags)
        try withDatabase(configuration) { database, logger in
            let pool = PostgresConnectionPool(
                configuration: PostgresPoolConfiguration(connectionString: database.connectionString, maxConnections: 1),
                logger: logger)
            defer { pool.close() }
            _ = try pool.withConnection { try SchemaMigrator(logger: logger).migrate($0) }
            let tasks = TaskStore(pool: pool)
            var deleted = 0
            while case let batch = try tasks.deleteFinishedTasks(olderThanSeconds: configuration.retentionSeconds), batch > 0 {
                deleted += batch
            }
            print("deleted \(deleted) finished tasks older than \(configuration.retentionSeconds) s")
        }
    }
}

struct UserCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user", abstract: "Manage users and their app passwords.",
        subcommands: [Add.self, List.self, Remove.self, Password.self])

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a user and print an app password, once.")
        @Argument(help: "User name: letters, digits, _ . @ -") var name: String
        @Flag(help: "Allow the admin routes.") var admin = false
        @OptionGroup var database: DatabaseOptions

        func run() throws {
            try withAccounts(database) { accounts in
                let (user, password) = try accounts.addUser(name: name, isAdmin: admin)
                print("created user \(user.name)\(user.isAdmin ? " (admin)" : "")")
                print("app password (shown once): \(password)")
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List users.")
        @OptionGroup var database: DatabaseOptions

        func run() throws {
            try withAccounts(database) { accounts in
                for user in try accounts.users() { print(user.name + (user.isAdmin ? "\tadmin" : "")) }
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a user and its app passwords.")
        @Argument var name: String
        @OptionGroup var database: DatabaseOptions

        func run() throws {
            try withAccounts(database) { accounts in
                try accounts.removeUser(name: name)
                print("removed user \(name)")
            }
        }
    }

    struct Password: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add an app password to a user and print it, once.")
        @Argument var name: String
        @OptionGroup var database: DatabaseOptions

        func run() throws {
            try withAccounts(database) { accounts in
                print("app password (shown once): \(try accounts.addAppPassword(userName: name))")
            }
        }
    }
}

struct AppCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "app", abstract: "Manage ExApps (workers and consumers using AppAPI headers).",
        subcommands: [Add.self, List.self, Remove.self])

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Register an ExApp and print its secret, once.")
        @Argument(help: "App id: letters, digits, _ . @ -") var appID: String
        @OptionGroup var database: DatabaseOptions

        func run() throws {
            try withAccounts(database) { accounts in
                let secret = try accounts.addApp(appID: appID)
                print("registered app \(appID)")
                print("secret (shown once): \(secret)")
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List ExApps.")
        @OptionGroup var database: DatabaseOptions

        func run() throws {
            try withAccounts(database) { accounts in
                for app in try accounts.apps() { print(app.appID + (app.enabled ? "" : "\tdisabled")) }
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete an ExApp.")
        @Argument var appID: String
        @OptionGroup var database: DatabaseOptions

        func run() throws {
            try withAccounts(database) { accounts in
                try accounts.removeApp(appID: appID)
                print("removed app \(appID)")
            }
        }
    }
}
