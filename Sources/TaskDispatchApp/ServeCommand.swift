import ArgumentParser
import Foundation
import Logging
import TaskQueue

/// `taskdispatch serve`: runs the server until SIGINT or SIGTERM. Its settings come from
/// ``ServerSettings``, which also writes its help.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Run the server.",
        usage: "taskdispatch serve [--SETTING VALUE ...]",
        discussion: ServerSettings.helpText)

    @OptionGroup var database: DatabaseOptions
    /// Every other setting, read by the settings table (`--name value` or `--name=value`).
    @Argument(parsing: .allUnrecognized, help: .hidden) var settings: [String] = []

    func run() throws {
        // First: a SIGTERM that arrives while the database or the server starts must not be lost.
        let signals = TerminationSignals.catchSignals()
        let flags = try ServerSettings.flags(from: settings).merging(database.flags) { _, database in database }
        let (configuration, deprecations) = try ServerConfiguration.resolveWithWarnings(flags: flags)

        try withDatabase(configuration) { database, logger in
            for deprecation in deprecations { logger.warning("\(deprecation)") }
            let server = TaskDispatchServer(
                configuration: configuration, connectionString: database.connectionString, logger: logger)
            try server.start()
            if database.isEmbedded { try FirstRun.greet(accounts: server.accounts, dataDirectory: configuration.dataDirectory) }
            let url = "\(configuration.tls == nil ? "http" : "https")://\(configuration.host):\(server.port)"
            switch configuration.logFormat {
            case .text: print("TaskDispatch \(TaskDispatchVersion.current) listening on \(url)")
            // Whatever the log level: the announcement says where the server is, in the logs' format.
            case .json:
                print(JSONLogHandler.line(
                    level: .notice, label: "taskdispatch", message: "listening on \(url)",
                    metadata: ["url": "\(url)", "version": "\(TaskDispatchVersion.current)"]), terminator: "")
            }
            fflush(nil)  // stdout may be a pipe: show the address now
            let signal = signals.wait()
            logger.info("stopping", metadata: ["signal": "\(signal)"])
            server.stop()
        }
    }
}

/// On the embedded database's first run, creates an admin and shows how to authenticate.
enum FirstRun {
    static func greet(accounts: AccountStore, dataDirectory: String) throws {
        guard try accounts.users().isEmpty else { return }
        let (_, password) = try accounts.addUser(name: "admin", isAdmin: true)
        print("""
            First run: created the administrator 'admin' in the embedded database (\(dataDirectory)).
              app password (shown once): \(password)
              use it as:  curl -u admin:\(password) -H 'OCS-APIRequest: true' ...   or   -H 'Authorization: Bearer \(password)'
              register a worker app:  taskdispatch app add APP_ID
            """)
    }
}
