import EmbeddedPostgres
import Foundation
import Logging
import TaskDispatchApp

/// A PostgreSQL cluster of a test's own, for tests that stop and restart the database (never
/// the cluster the other tests share), with a server over it.
final class PrivateCluster {
    let cluster: EmbeddedPostgres
    let folder: String
    let connectionString: String

    init(prefix: String) throws {
        folder = try makeTemporaryFolder(prefix: prefix, mode: 0o755)
        var logger = Logger(label: prefix)
        logger.logLevel = .warning
        cluster = EmbeddedPostgres(
            configuration: EmbeddedPostgresConfiguration(dataDirectory: folder, extraSettings: ["fsync": "off"]),
            logger: logger)
        connectionString = try cluster.start()
    }

    /// A started in-process server over this cluster; `configure` adjusts the test defaults.
    func startServer(configure: (inout ServerConfiguration) -> Void = { _ in }) throws -> TaskDispatchServer {
        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.databaseURL = connectionString
        configuration.maintenanceIntervalSeconds = 0.2
        configuration.scheduleRateLimit = 0
        configure(&configuration)
        let server = TaskDispatchServer(configuration: configuration, connectionString: connectionString, logger: TestServer.silentLogger)
        try server.start()
        return server
    }

    /// Stops the cluster and deletes its folder.
    func remove() {
        cluster.stop()
        try? FileManager.default.removeItem(atPath: folder)
    }
}

/// Polls `condition` every 50 ms for at most `seconds`; its last answer.
func eventually(within seconds: Double = 15, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < deadline {
        if try condition() { return true }
        usleep(50_000)
    }
    return try condition()
}
