import Foundation
import Postgres
import TaskDispatchTesting
import TaskQueue
import Testing

/// The starting point of tests that run `taskdispatch serve` as child processes: a fresh database
/// migrated by the real `taskdispatch migrate`, the accounts `alice` and `worker`, and a folder
/// for the children's logs.
///
/// Whoever makes one removes its folder with ``removeFolder()`` (usually in a `defer`).
struct ServeProcessFixture {
    let executable: String
    let connectionString: String
    let folder: String
    let alice: Caller
    let worker: Caller

    /// Creates database `prefix_…` and folder `td-prefix-…`; nil (after recording an issue) when
    /// the `taskdispatch` binary has not been built.
    static func make(prefix: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> ServeProcessFixture? {
        guard let executable = requireTaskdispatchExecutable() else { return nil }
        let connectionString = try TestDatabase.create(prefix: prefix)
        let folder = try makeTemporaryFolder(prefix: "td-" + prefix.replacingOccurrences(of: "_", with: "-"))
        do {
            let (migrated, migrateOutput) = try ChildProcess.run(
                executable, ["migrate", "--database-url", connectionString, "--log-level", "warning"], logPath: "\(folder)/migrate.log")
            try #require(migrated == .exited(0), "taskdispatch migrate \(migrated):\n\(migrateOutput)", sourceLocation: sourceLocation)
            let (alice, worker) = try createAccounts(connectionString)
            return ServeProcessFixture(
                executable: executable, connectionString: connectionString, folder: folder, alice: alice, worker: worker)
        } catch {
            try? FileManager.default.removeItem(atPath: folder)
            throw error
        }
    }

    func removeFolder() {
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// Starts `taskdispatch serve` over this database on `port`, logging warnings and worse to
    /// `<folder>/<logName>.log`; `options` are the test's own flags. Does not wait for it to answer.
    func spawnServer(port: UInt16, options: [String], name: String, logName: String) throws -> ChildProcess {
        try ChildProcess.spawn(
            executable,
            ["serve", "--database-url", connectionString, "--port", String(port), "--log-level", "warning"] + options,
            name: name, logPath: "\(folder)/\(logName).log")
    }

    /// Starts `count` servers (`server 0` … logging to `serve-0.log` …) on free ports and waits
    /// until each answers HTTP. Should one fail to come up, all of them are killed.
    func startServers(_ count: Int, options: [String]) throws -> (servers: [ChildProcess], ports: [UInt16]) {
        var servers: [ChildProcess] = []
        var ports: [UInt16] = []
        do {
            for number in 0..<count {
                let port = try freeLoopbackPort()
                servers.append(try spawnServer(port: port, options: options, name: "server \(number)", logName: "serve-\(number)"))
                ports.append(port)
            }
            for (server, port) in zip(servers, ports) {
                try waitUntilAnswering(port: port, process: server, timeoutSeconds: 30)
            }
        } catch {
            servers.forEach { $0.kill() }
            throw error
        }
        return (servers, ports)
    }

    /// The user `alice` and the ExApp `worker`, created with the server's own account store.
    private static func createAccounts(_ connectionString: String) throws -> (alice: Caller, worker: Caller) {
        let pool = PostgresConnectionPool(
            configuration: PostgresPoolConfiguration(connectionString: connectionString, maxConnections: 1),
            logger: TestServer.silentLogger)
        defer { pool.close() }
        let accounts = AccountStore(pool: pool)
        let password = try accounts.addUser(name: "alice", isAdmin: false).appPassword
        let secret = try accounts.addApp(appID: "worker")
        try TestServer.registerCoreProviders(ProviderStore(pool: pool), appID: "worker")
        return (.user("alice", password), .exApp("worker", secret, user: ""))
    }
}
