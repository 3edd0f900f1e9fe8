import Foundation
import Logging
import Postgres

/// Creates databases in a running cluster through its maintenance database.
struct DatabaseCreator {
    /// `42P04`: the database exists already, because another process created it first.
    static let duplicateDatabase = SQLState(rawValue: "42P04")

    let connectionString: String
    let logger: Logger

    /// Creates `name` unless it exists. Waits up to `timeoutSeconds` while the server is still
    /// starting up (`57P03`), as a server started by another process may be.
    func createIfMissing(_ name: String, timeoutSeconds: Double) throws(EmbeddedPostgresError) {
        do {
            let connection = try connect(timeoutSeconds: timeoutSeconds)
            defer { connection.close() }
            guard try connection.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]).rowCount == 0 else { return }
            do {
                try connection.execute("CREATE DATABASE \(Self.quotedIdentifier(name))")
                logger.info("created database", metadata: ["postgres.database": "\(name)"])
            } catch where error.sqlState == Self.duplicateDatabase {
                return
            }
        } catch {
            throw .databaseSetupFailed("\(name): \(error)")
        }
    }

    private func connect(timeoutSeconds: Double) throws(PostgresError) -> PostgresConnection {
        let giveUp = Date(timeIntervalSinceNow: timeoutSeconds)
        while true {
            do {
                return try PostgresConnection(connectionString: connectionString, logger: logger)
            } catch where Self.isStillStarting(error) && Date() < giveUp {
                Thread.sleep(forTimeInterval: 0.1)
            }
        }
    }

    /// Whether a failed connection means the server is starting up (`57P03`). libpq reports
    /// connection failures as text without a SQLSTATE; the cluster's messages are in English
    /// because `initdb` gave it the C.UTF-8 locale.
    private static func isStillStarting(_ error: PostgresError) -> Bool {
        error.message.contains("starting up") || error.message.contains("not yet accepting connections")
    }

    /// `name` as a double-quoted SQL identifier.
    static func quotedIdentifier(_ name: String) -> String {
        "\"" + name.replacing("\"", with: "\"\"") + "\""
    }
}
