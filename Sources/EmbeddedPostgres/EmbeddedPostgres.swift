import Foundation
import Logging
import Postgres
import Synchronization

/// A PostgreSQL cluster this process manages with Debian's `initdb` and `pg_ctl`.
///
/// The cluster is initialized on first use (UTF-8, superuser ``superuser``, trust authentication
/// over the unix socket only) and accepts no TCP connections. Trust is safe because only the
/// socket folder's owner, the account the server runs as, and root can reach the socket.
/// Every call blocks the calling thread; calls on one instance are serialized.
public final class EmbeddedPostgres: Sendable {
    /// The superuser `initdb` creates, named in every connection string.
    public static let superuser = "taskdispatch"
    /// The database that always exists, used to create others.
    static let maintenanceDatabase = "postgres"

    private let configuration: EmbeddedPostgresConfiguration
    private let layout: ClusterLayout
    private let logger: Logger
    /// Whether this instance started the running server; the lock also serializes start and stop.
    private let startedServer = Mutex(false)

    /// Describes a cluster; nothing touches the disk until ``start()``.
    public init(configuration: EmbeddedPostgresConfiguration, logger: Logger) {
        self.configuration = configuration
        self.layout = ClusterLayout(dataDirectory: configuration.dataDirectory)
        self.logger = logger
    }

    /// The libpq connection string for the configured database:
    /// `host=<socket folder> port=<port> user=taskdispatch dbname=<database>`.
    public var connectionString: String {
        connectionString(database: configuration.databaseName)
    }

    /// The libpq connection string for `database` in this cluster, as the superuser.
    public func connectionString(database: String) -> String {
        ConnectionInfo.string([
            "host": layout.socketDirectory,
            "port": String(configuration.port),
            "user": Self.superuser,
            "dbname": database,
        ])
    }

    /// True if this instance started the running server, so the caller should stop it on exit.
    public var startedByThisProcess: Bool {
        startedServer.withLock { $0 }
    }

    /// Initializes the cluster if needed, starts the server unless it already runs, creates the
    /// database if missing and returns ``connectionString``.
    ///
    /// A server left running by a killed process is reused rather than started twice; a stale
    /// `postmaster.pid` is handled by PostgreSQL itself. Calling this again is harmless.
    public func start() throws(EmbeddedPostgresError) -> String {
        try startedServer.withLock { (startedServer: inout Bool) throws(EmbeddedPostgresError) -> String in
            let binaries = try PostgresBinaries.locate(configured: configuration.binDirectory, logger: logger)
            let account = getuid() == 0 ? try ServerAccount.lookUp(configuration.systemUser) : nil
            try prepareFolders(for: account)
            let tools = CommandRunner(account: account?.name, workingDirectory: layout.root, logger: logger)
            try initializeClusterIfNeeded(binaries: binaries, tools: tools)
            try ClusterSettings(layout: layout, port: configuration.port, extra: configuration.extraSettings).write(to: layout)
            try account?.takeOwnership(of: layout.settingsFile)

            if try isServerRunning(binaries: binaries, tools: tools) {
                logger.info("reusing the PostgreSQL server already running", metadata: ["postgres.data": "\(layout.dataDirectory)"])
            } else {
                try startServer(binaries: binaries, tools: tools)
                startedServer = true
            }
            try DatabaseCreator(connectionString: connectionString(database: Self.maintenanceDatabase), logger: logger)
                .createIfMissing(configuration.databaseName, timeoutSeconds: Double(configuration.serverTimeoutSeconds))
            return connectionString
        }
    }

    /// Stops the server with `pg_ctl stop -m fast` (open transactions are rolled back, clients
    /// disconnected). Stopping a server that is not running does nothing; failures are logged.
    public func stop() {
        startedServer.withLock { startedServer in
            startedServer = false
            do {
                let binaries = try PostgresBinaries.locate(configured: configuration.binDirectory, logger: logger)
                let account = getuid() == 0 ? try ServerAccount.lookUp(configuration.systemUser) : nil
                let tools = CommandRunner(account: account?.name, workingDirectory: layout.root, logger: logger)
                guard try isServerRunning(binaries: binaries, tools: tools) else { return }
                try tools.run(binaries.pgCtl, ["stop", "-D", layout.dataDirectory, "-m", "fast", "-w", "-t", String(configuration.serverTimeoutSeconds), "-s"])
                logger.info("stopped PostgreSQL", metadata: ["postgres.data": "\(layout.dataDirectory)"])
            } catch {
                logger.error("could not stop PostgreSQL", metadata: ["postgres.error": "\(error)"])
            }
        }
    }

    /// The schema of `database` as `pg_dump --schema-only --no-owner --no-privileges` prints it,
    /// for comparing a migrated database with a committed schema.
    public func schemaDump(database: String) throws(EmbeddedPostgresError) -> String {
        let binaries = try PostgresBinaries.locate(configured: configuration.binDirectory, logger: logger)
        // pg_dump writes to a file, so warnings it prints cannot end up in the schema.
        let dumpFile = FileManager.default.temporaryDirectory.appendingPathComponent("taskdispatch-schema-\(UUID().uuidString).sql")
        defer { try? FileManager.default.removeItem(at: dumpFile) }
        // Run as this process: the socket is reachable by it (root, or the cluster's owner).
        let tools = CommandRunner(account: nil, workingDirectory: FileManager.default.temporaryDirectory.path, logger: logger)
        try tools.run(binaries.pgDump, [
            "--schema-only", "--no-owner", "--no-privileges", "--file=\(dumpFile.path)", "--dbname=\(connectionString(database: database))",
        ])
        guard let dump = try? String(contentsOf: dumpFile, encoding: .utf8) else {
            throw .commandFailed(command: binaries.pgDump, status: 0, output: "could not read its output \(dumpFile.path)")
        }
        return dump
    }

    /// Creates the cluster folder and socket folder, checks the socket path, and when running as
    /// root hands the folder to the server's account after checking that it can reach it.
    private func prepareFolders(for account: ServerAccount?) throws(EmbeddedPostgresError) {
        let socketPath = layout.socketPath(port: configuration.port)
        guard socketPath.utf8.count < ClusterLayout.maximumSocketPathLength else {
            throw .socketPathTooLong(socketPath)
        }
        do {
            // Private folders: whoever can reach the socket can log in as the superuser.
            for folder in [layout.root, layout.socketDirectory] where !FileManager.default.fileExists(atPath: folder) {
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            }
        } catch {
            throw .notAccessible("could not create \(layout.root): \(error)")
        }
        if let account {
            try account.checkCanReach(layout.root)
            try account.takeOwnership(of: layout.root)
        }
    }

    private func initializeClusterIfNeeded(binaries: PostgresBinaries, tools: CommandRunner) throws(EmbeddedPostgresError) {
        guard !FileManager.default.fileExists(atPath: layout.versionFile) else { return }
        if FileManager.default.fileExists(atPath: layout.dataDirectory) {
            // No PG_VERSION: an initdb that was killed half-way. It cannot hold data; start over.
            logger.warning("removing an incomplete cluster", metadata: ["postgres.data": "\(layout.dataDirectory)"])
            do {
                try FileManager.default.removeItem(atPath: layout.dataDirectory)
            } catch {
                throw .notAccessible("could not remove the incomplete cluster \(layout.dataDirectory): \(error)")
            }
        }
        logger.info("initializing a PostgreSQL cluster", metadata: ["postgres.data": "\(layout.dataDirectory)"])
        var arguments = [
            "-D", layout.dataDirectory,
            "-U", Self.superuser,
            "--auth-local=trust", "--auth-host=reject",
            "-E", "UTF8", "--locale=C.UTF-8",
            "--no-instructions",
        ]
        if configuration.extraSettings["fsync"] == "off" {
            // A cluster that will run without fsync gains nothing from a synced initdb.
            arguments.append("--no-sync")
        }
        try tools.run(binaries.initdb, arguments)
    }

    private func isServerRunning(binaries: PostgresBinaries, tools: CommandRunner) throws(EmbeddedPostgresError) -> Bool {
        guard FileManager.default.fileExists(atPath: layout.versionFile) else { return false }
        // pg_ctl status: 0 running, 3 not running, 4 no usable data directory.
        return try tools.run(binaries.pgCtl, ["status", "-D", layout.dataDirectory], acceptedStatuses: [0, 3, 4]).status == 0
    }

    private func startServer(binaries: PostgresBinaries, tools: CommandRunner) throws(EmbeddedPostgresError) {
        logger.info("starting PostgreSQL", metadata: ["postgres.data": "\(layout.dataDirectory)"])
        let arguments = ["start", "-D", layout.dataDirectory, "-l", layout.logFile, "-w", "-t", String(configuration.serverTimeoutSeconds), "-s"]
        do {
            try tools.run(binaries.pgCtl, arguments)
        } catch .commandFailed(let command, let status, let output) {
            // pg_ctl only says that the server did not start; the reason is in the server log.
            let log = (try? String(contentsOfFile: layout.logFile, encoding: .utf8)) ?? ""
            let reason = output + "\n--- \(layout.logFile) (tail) ---\n" + log.suffix(CommandRunner.outputTailLength)
            throw .commandFailed(command: command, status: status, output: reason)
        }
    }
}
