import Foundation
import Postgres
import Testing

/// A PgBouncer of a test's own, in transaction pooling mode, in front of one database of the
/// test cluster: its ini file and user list in a folder of its own, listening on 127.0.0.1 only.
///
/// Whoever starts one ends it with ``stop()`` (usually in a `defer`).
final class PgBouncerProcess {
    /// Where Debian's `pgbouncer` package installs it.
    static let executable = "/usr/sbin/pgbouncer"

    /// A libpq connection string for the database through the pooler.
    let connectionString: String
    let process: ChildProcess
    let folder: String

    private init(connectionString: String, process: ChildProcess, folder: String) {
        self.connectionString = connectionString
        self.process = process
        self.folder = folder
    }

    /// Starts a pooler for the database `direct` names, with at most `poolSize` server
    /// connections, and waits until a query goes through it. Nil, after recording an issue,
    /// when pgbouncer is not installed.
    static func start(for direct: String, poolSize: Int) throws -> PgBouncerProcess? {
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            Issue.record("\(executable) is missing: install Debian's pgbouncer package (scripts/install-dependencies.sh does)")
            return nil
        }
        let target = try Target(direct)
        // 0755: when tests run as root, pgbouncer runs as the postgres account and reads its files here.
        let folder = try makeTemporaryFolder(prefix: "td-pgbouncer", mode: 0o755)
        do {
            let port = try freeLoopbackPort()
            // One line per user: "name" "password"; trust reads no password.
            try "\"\(target.user)\" \"\"\n".write(toFile: "\(folder)/userlist.txt", atomically: true, encoding: .utf8)
            try settings(target: target, port: port, poolSize: poolSize, folder: folder)
                .write(toFile: "\(folder)/pgbouncer.ini", atomically: true, encoding: .utf8)
            // As the cluster is, pgbouncer is run as postgres when the tests run as root (it
            // refuses root, and only that account can reach the cluster's socket). Its own -u
            // rather than runuser keeps pgbouncer itself the child, so a SIGKILL reaches it.
            let asAccount = getuid() == 0 ? ["-u", "postgres"] : []
            let process = try ChildProcess.spawn(
                executable, asAccount + ["\(folder)/pgbouncer.ini"], name: "pgbouncer", logPath: "\(folder)/pgbouncer.log")
            let bouncer = PgBouncerProcess(
                connectionString: "host=127.0.0.1 port=\(port) user=\(target.user) dbname=\(target.database)",
                process: process, folder: folder)
            do {
                try bouncer.waitUntilServing(timeoutSeconds: 15)
            } catch {
                bouncer.stop()
                throw error
            }
            return bouncer
        } catch {
            try? FileManager.default.removeItem(atPath: folder)
            throw error
        }
    }

    /// Stops pgbouncer (SIGTERM: immediate shutdown) and deletes its folder.
    func stop() {
        process.terminate(timeoutSeconds: 10)
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// Clients authenticate by name only (trust, the name must be in the user list), as the
    /// cluster trusts its socket; server connections go to the cluster's unix socket.
    private static func settings(target: Target, port: UInt16, poolSize: Int, folder: String) -> String {
        """
        [databases]
        \(target.database) = host=\(target.socketDirectory) port=\(target.port) dbname=\(target.database)

        [pgbouncer]
        listen_addr = 127.0.0.1
        listen_port = \(port)
        unix_socket_dir =
        auth_type = trust
        auth_file = \(folder)/userlist.txt
        pool_mode = transaction
        default_pool_size = \(poolSize)
        max_db_connections = \(poolSize)
        min_pool_size = 0
        reserve_pool_size = 0
        max_client_conn = 500
        """
    }

    private func waitUntilServing(timeoutSeconds: Double) throws {
        let deadline = ContinuousClock.now + .milliseconds(Int(timeoutSeconds * 1000))
        var lastError = "nothing tried"
        while ContinuousClock.now < deadline {
            if process.hasExited {
                throw ChildProcessError(description: "pgbouncer \(process.exitStatus!):\n\(process.outputTail)")
            }
            do {
                let connection = try PostgresConnection(connectionString: connectionString, logger: TestServer.silentLogger)
                defer { connection.close() }
                _ = try connection.query("SELECT 1 AS one")
                return
            } catch {
                lastError = "\(error)"
            }
            usleep(50_000)
        }
        throw ChildProcessError(description: "pgbouncer did not serve within \(timeoutSeconds) s (\(lastError)):\n\(process.outputTail)")
    }

    /// Where the direct connection string leads, as the server itself reports it.
    private struct Target {
        var socketDirectory: String
        var port: String
        var database: String
        var user: String

        init(_ direct: String) throws {
            let connection = try PostgresConnection(connectionString: direct, logger: TestServer.silentLogger)
            defer { connection.close() }
            let row = try connection.query(
                """
                SELECT split_part(current_setting('unix_socket_directories'), ',', 1) AS socket,
                       current_setting('port') AS port, current_database() AS database, current_user AS "user"
                """)[0]
            guard let socket = row.string("socket"), let port = row.string("port"), let database = row.string("database"),
                  let user = row.string("user")
            else { throw TestFailure("could not read the cluster's socket, port, database and user") }
            (socketDirectory, self.port, self.database, self.user) = (socket, port, database, user)
        }
    }
}
