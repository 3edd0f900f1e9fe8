import EmbeddedPostgres
import Foundation
import Logging
import Synchronization

/// The cluster shared by every test in this process, started lazily.
final class TestCluster: Sendable {
    static let shared = TestCluster()

    /// Quiet unless something goes wrong: every test process starts a cluster.
    static let logger: Logger = {
        var logger = Logger(label: "TaskDispatchTesting")
        logger.logLevel = .notice
        return logger
    }()

    /// The name every test cluster folder starts with, followed by `<pid>-<random>`.
    static let folderPrefix = "taskdispatch-test-"

    private enum State {
        case notStarted
        case running(EmbeddedPostgres, folder: String, databasesCreated: Int)
        case failed(EmbeddedPostgresError)
    }

    private let state = Mutex(State.notStarted)

    /// The running cluster, started on first call, and a number unique within this process for naming a database.
    func checkOut() throws(EmbeddedPostgresError) -> (cluster: EmbeddedPostgres, number: Int) {
        try state.withLock { (state: inout State) throws(EmbeddedPostgresError) -> (cluster: EmbeddedPostgres, number: Int) in
            switch state {
            case .running(let cluster, let folder, let created):
                state = .running(cluster, folder: folder, databasesCreated: created + 1)
                return (cluster, created + 1)
            case .failed(let error):
                // Every test would fail the same way; report the first failure instead of retrying.
                throw error
            case .notStarted:
                do throws(EmbeddedPostgresError) {
                    let (cluster, folder) = try Self.startCluster()
                    state = .running(cluster, folder: folder, databasesCreated: 1)
                    atexit(stopSharedTestCluster)
                    return (cluster, 1)
                } catch {
                    state = .failed(error)
                    throw error
                }
            }
        }
    }

    /// Stops the cluster and deletes its folder; run once, at process exit.
    func stop() {
        let running = state.withLock { state -> (EmbeddedPostgres, String)? in
            guard case .running(let cluster, let folder, _) = state else { return nil }
            state = .notStarted
            return (cluster, folder)
        }
        guard let (cluster, folder) = running else { return }
        cluster.stop()
        try? FileManager.default.removeItem(atPath: folder)
    }

    private static func startCluster() throws(EmbeddedPostgresError) -> (EmbeddedPostgres, String) {
        let temporary = FileManager.default.temporaryDirectory.path
        removeAbandonedClusters(in: temporary)
        let suffix = String(UInt32.random(in: .min ... .max), radix: 16)
        let folder = "\(temporary)/\(folderPrefix)\(getpid())-\(suffix)"
        do {
            // 0755: when tests run as root, the server runs as the postgres account and must be able to enter it.
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        } catch {
            throw .notAccessible("could not create the test cluster folder \(folder): \(error)")
        }
        let configuration = EmbeddedPostgresConfiguration(
            dataDirectory: folder,
            databaseName: "postgres",
            extraSettings: ["fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"]
        )
        let cluster = EmbeddedPostgres(configuration: configuration, logger: logger)
        _ = try cluster.start()
        return (cluster, folder)
    }

    /// Stops and deletes clusters whose test process no longer exists (it was killed before its
    /// exit handler ran), so abandoned servers do not pile up between runs.
    private static func removeAbandonedClusters(in temporary: String) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: temporary)) ?? []
        for name in names where name.hasPrefix(folderPrefix) {
            let owner = name.dropFirst(folderPrefix.count).prefix(while: \.isNumber)
            guard let pid = Int32(owner), kill(pid, 0) == -1, errno == ESRCH else { continue }
            let folder = "\(temporary)/\(name)"
            logger.notice("removing an abandoned test cluster", metadata: ["folder": "\(folder)"])
            EmbeddedPostgres(configuration: EmbeddedPostgresConfiguration(dataDirectory: folder), logger: logger).stop()
            try? FileManager.default.removeItem(atPath: folder)
        }
    }
}

/// The exit handler that stops the shared cluster; a plain function because `atexit` takes a C function pointer.
private func stopSharedTestCluster() {
    TestCluster.shared.stop()
}
