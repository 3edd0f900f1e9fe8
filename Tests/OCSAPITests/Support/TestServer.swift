import Foundation
import JSON
import Logging
import LoopbackHTTPClient
import Postgres
import TaskDispatchApp
import TaskDispatchTesting
import TaskQueue

/// A real server on an ephemeral loopback port over a fresh database, with accounts made:
/// users `alice`, `bob`, admin `root`, and the ExApp `worker`, and (unless `providers` is false)
/// one provider per core type, registered by `worker`, whose id is the type's id: a worker
/// names the types it wants in both `providerIds` and `taskTypeIds`.
final class TestServer: Sendable {
    let server: TaskDispatchServer
    let connectionString: String
    let alice: Caller
    let bob: Caller
    let admin: Caller
    let worker: Caller
    let workerSecret: String

    static let silentLogger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

    /// The expected runtime of the default providers.
    static let expectedRuntimeSeconds = 60

    init(providers: Bool = true, configure: (inout ServerConfiguration) -> Void = { _ in }) throws {
        connectionString = try TestDatabase.create(prefix: "ocs")
        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.databaseURL = connectionString
        configuration.maintenanceIntervalSeconds = 0.2
        // Most tests schedule many tasks as one user; the rate limit tests turn it back on.
        configuration.scheduleRateLimit = 0
        configure(&configuration)
        server = TaskDispatchServer(configuration: configuration, connectionString: connectionString, logger: Self.silentLogger)
        try server.start()
        let accounts = server.accounts
        alice = .user("alice", try accounts.addUser(name: "alice", isAdmin: false).appPassword)
        bob = .user("bob", try accounts.addUser(name: "bob", isAdmin: false).appPassword)
        admin = .user("root", try accounts.addUser(name: "root", isAdmin: true).appPassword)
        workerSecret = try accounts.addApp(appID: "worker")
        worker = .exApp("worker", workerSecret, user: "")
        if providers {
            try Self.registerCoreProviders(server.catalog.store, appID: "worker")
            server.catalog.invalidate()
        }
    }

    /// One provider per core type, owned by `appID`, whose id is the type's id.
    static func registerCoreProviders(_ store: ProviderStore, appID: String) throws {
        for type in TaskTypeCatalog.core.sortedIDs {
            try store.register(
                TaskProvider(
                    id: type, appID: appID, displayName: "Test provider for \(type)", taskType: type,
                    expectedRuntimeSeconds: expectedRuntimeSeconds))
        }
    }

    var port: UInt16 { server.port }

    /// A client for one thread (clients are not thread-safe).
    func client(_ caller: Caller) -> APIClient { APIClient(port: port, caller: caller) }

    /// A direct database connection, for checking what the API stored.
    func database() throws -> PostgresConnection {
        try PostgresConnection(connectionString: connectionString, logger: Self.silentLogger)
    }

    /// Starts another server with this one's configuration over the same database, on a new
    /// ephemeral port: a second server process as far as the database can tell. The caller stops it.
    func startSibling() throws -> TaskDispatchServer {
        var configuration = server.configuration
        configuration.port = 0
        let sibling = TaskDispatchServer(configuration: configuration, connectionString: connectionString, logger: Self.silentLogger)
        try sibling.start()
        return sibling
    }

    func stop() { server.stop() }
}

/// Who a test request claims to be.
enum Caller: Sendable {
    case anonymous
    case user(String, String)
    case bearer(String)
    case exApp(String, String, user: String)

    var headers: [(String, String)] {
        switch self {
        case .anonymous:
            return []
        case .user(let name, let password):
            return [("Authorization", "Basic " + Data("\(name):\(password)".utf8).base64EncodedString())]
        case .bearer(let token):
            return [("Authorization", "Bearer \(token)")]
        case .exApp(let appID, let secret, let user):
            return [
                ("EX-APP-ID", appID), ("EX-APP-VERSION", "1.0.0"), ("AA-VERSION", "2.2.0"),
                ("AUTHORIZATION-APP-API", Data("\(user):\(secret)".utf8).base64EncodedString()),
            ]
        }
    }

    /// The app password of a user caller.
    var password: String? {
        if case .user(_, let password) = self { return password }
        return nil
    }
}

/// A response with its OCS envelope parsed.
struct APIResponse {
    let status: Int
    let headers: [(name: String, value: String)]
    let body: [UInt8]
    let json: JSONValue?

    var meta: JSONValue? { json?["ocs"]?["meta"] }
    var data: JSONValue? { json?["ocs"]?["data"] }
    var task: JSONValue? { data?["task"] }
    var taskID: Int64? { task?["id"]?.int64Value }
    var message: String? { data?["message"]?.stringValue }
    var bodyText: String { String(decoding: body, as: UTF8.self) }

    func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }
}

/// Sends API requests as one caller over one keep-alive connection.
final class APIClient {
    static let v2 = "/ocs/v2.php/taskprocessing"
    let http: LoopbackHTTPClient
    let caller: Caller

    init(port: UInt16, caller: Caller) {
        http = LoopbackHTTPClient(port: port)
        self.caller = caller
    }

    deinit { http.close() }

    /// `path` is relative to `/ocs/v2.php/taskprocessing` unless it starts with `/`. Every
    /// request carries `OCS-APIRequest: true`, as OCS clients send it, unless `ocsAPIRequest` is false.
    func call(
        _ method: String, _ path: String, json: JSONValue? = nil, body: [UInt8]? = nil,
        contentType: String? = nil, headers: [(String, String)] = [], ocsAPIRequest: Bool = true
    ) throws -> APIResponse {
        var allHeaders = caller.headers + headers
        if ocsAPIRequest { allHeaders.append(("OCS-APIRequest", "true")) }
        var payload = body
        if let json {
            payload = json.serialized()
            allHeaders.append(("Content-Type", "application/json"))
        } else if let contentType {
            allHeaders.append(("Content-Type", contentType))
        }
        let fullPath = path.hasPrefix("/") ? path : "\(Self.v2)/\(path)"
        let response = try http.send(method: method, path: fullPath, headers: allHeaders, body: payload)
        return APIResponse(
            status: response.status, headers: response.headers, body: response.body,
            json: response.body.isEmpty ? nil : try? JSONValue.parse(response.body))
    }

    /// Schedules a `core:text2text` task and returns its id.
    func schedule(_ text: String = "hello", type: String = "core:text2text", appID: String = "testapp", customID: String = "") throws -> Int64 {
        let response = try call(
            "POST", "schedule",
            json: ["type": .string(type), "input": ["input": .string(text)], "appId": .string(appID), "customId": .string(customID)])
        guard response.status == 200, let id = response.taskID else {
            throw TestFailure("schedule answered \(response.status): \(response.bodyText)")
        }
        return id
    }

    /// Claims the next task of `types` as a worker (JSON body on GET, as nc_py_api sends it),
    /// naming the test server's providers of those types unless `providers` is given.
    func next(types: [String] = ["core:text2text"], providers: [String]? = nil) throws -> APIResponse {
        try call(
            "GET", "tasks_provider/next",
            json: [
                "providerIds": .array((providers ?? types).map(JSONValue.string)),
                "taskTypeIds": .array(types.map(JSONValue.string)),
            ])
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
