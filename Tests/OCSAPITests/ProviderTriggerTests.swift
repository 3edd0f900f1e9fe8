import Foundation
import JSON
import MicroHTTP
import Synchronization
import TaskQueue
import Testing
@testable import TaskDispatchApp

/// Provider triggers through one server, against a recording ExApp on loopback: AppAPI's call
/// and headers exactly, one call for a burst, none while the provider runs a task of the type
/// or a long poll of its ExApp waits here, retries then giving up (shown to operators), and
/// new work starting over.
@Suite("Provider triggers")
struct ProviderTriggerTests {
    typealias Support = EndpointSupport
    static let appID = "trig"
    static let providerID = "trig-llm"
    static let type = "core:text2text"

    /// Records trigger calls and answers what `mode` says; `.drain` claims and finishes every
    /// waiting task of the type as the ExApp (on a thread of its own, after answering, and
    /// after a second, as a model would take to load).
    final class ExAppDouble: HTTPHandler, Sendable {
        enum Mode: Sendable { case drain, ignore, fail }
        struct Call: Sendable {
            let method: String
            let path: String
            let query: [String: String]
            let headers: [String: String]
            let body: [UInt8]
        }

        let mode = Mutex(Mode.drain)
        let calls = Mutex<[Call]>([])
        let drained = Atomic<Int>(0)
        private let serverPort: UInt16
        private let caller: Caller

        init(serverPort: UInt16, caller: Caller) {
            self.serverPort = serverPort
            self.caller = caller
        }

        func handle(_ request: HTTPRequest) -> HTTPResponse {
            var headers: [String: String] = [:]
            for name in ["AA-VERSION", "EX-APP-ID", "EX-APP-VERSION", "AUTHORIZATION-APP-API", "AA-REQUEST-ID", "Accept-Language", "Content-Length"] {
                headers[name] = request.headers[name]
            }
            calls.withLock {
                $0.append(Call(
                    method: request.method, path: request.path,
                    query: Dictionary(request.query.map { ($0.name, $0.value) }) { first, _ in first }, headers: headers,
                    body: request.body))
            }
            switch mode.withLock({ $0 }) {
            case .fail: return HTTPResponse(status: 500)
            case .ignore: return HTTPResponse(status: 200, body: Array("{}".utf8))
            case .drain:
                Thread.detachNewThread { [self] in
                    Thread.sleep(forTimeInterval: 1)
                    let client = APIClient(port: serverPort, caller: caller)
                    while let next = try? client.next(types: [ProviderTriggerTests.type], providers: [ProviderTriggerTests.providerID]),
                        next.status == 200, let id = next.taskID
                    {
                        _ = try? client.call("POST", "tasks_provider/\(id)/result", json: ["output": ["output": "done"]])
                        drained.add(1, ordering: .relaxed)
                    }
                }
                return HTTPResponse(status: 200, body: Array("{}".utf8))
            }
        }

        func reject(_ head: HTTPRequestHead, reason: HTTPRejection) -> HTTPResponse { HTTPResponse(status: 400) }

        var count: Int { calls.withLock { $0.count } }
    }

    struct Setup {
        let server: TestServer
        let exApp: ExAppDouble
        let http: HTTPServer
        let secret: String
        let keyFolder: String

        func stop() {
            server.stop()
            http.stop()
            try? FileManager.default.removeItem(atPath: keyFolder)
        }
    }

    /// A server calling the ExApp `trig` (URL with a path prefix, as behind AppAPI's HaRP), whose
    /// provider is the preferred one of core:text2text.
    static func setUp(maxAttempts: Int = 3, recheckSeconds: Double = 0.5) throws -> Setup {
        let keyFolder = try makeTemporaryFolder(prefix: "td-trigger-key")
        let server = try TestServer {
            $0.secretKeyFile = keyFolder + "/secret.key"
            $0.triggerRecheckSeconds = recheckSeconds
            $0.triggerMaxAttempts = maxAttempts
        }
        // The same key file as the server's, as `app add` would read it.
        let sealer = try SecretKeyFile.sealer(path: keyFolder + "/secret.key")
        let port = try freeLoopbackPort()
        let secret = try server.server.accounts.addApp(
            appID: appID, sealer: sealer, baseURL: try ExAppBaseURL("http://127.0.0.1:\(port)/exapps/trig/"))
        let caller = Caller.exApp(appID, secret, user: "")
        let exApp = ExAppDouble(serverPort: server.port, caller: caller)
        let http = HTTPServer(
            configuration: HTTPServerConfiguration(host: "127.0.0.1", port: port, threadPoolSize: 4), handler: exApp,
            logger: TestServer.silentLogger)
        try http.start()
        try server.server.catalog.store.register(
            TaskProvider(id: providerID, appID: appID, displayName: "Triggered", taskType: type, expectedRuntimeSeconds: 5))
        try server.server.catalog.store.setPreferred(taskType: type, providerID: providerID)
        server.server.catalog.invalidate()
        // The sender reads the apps with a URL at each sweep (every 5 s at most).
        try #require(Support.waitUntil(seconds: 15) { server.server.tasks.triggeredApps.contains(appID) })
        return Setup(server: server, exApp: exApp, http: http, secret: secret, keyFolder: keyFolder)
    }

    @Test("a burst of 40 schedules makes one call with AppAPI's headers; the ExApp drains the queue; once it finds the queue empty, new work gets a call at once")
    func burstMakesOneCall() throws {
        // A recheck far away: only the ExApp's empty claim can end the coalescing in time.
        let setup = try Self.setUp(recheckSeconds: 60)
        defer { setup.stop() }
        let alice = setup.server.client(setup.server.alice)
        for number in 0..<40 { _ = try alice.schedule("burst \(number)") }
        try #require(Support.waitUntil(seconds: 30) { setup.exApp.drained.load(ordering: .relaxed) == 40 }, "the ExApp took the burst")
        Thread.sleep(forTimeInterval: 1.5)
        let calls = setup.exApp.calls.withLock { $0 }
        #expect(calls.count == 1, "\(calls.count) calls")
        let call = try #require(calls.first)
        #expect(call.method == "POST")
        #expect(call.path == "/exapps/trig/trigger")
        #expect(call.query == ["providerId": Self.providerID])
        #expect(call.body.isEmpty && call.headers["Content-Length"] == "0")
        #expect(call.headers["EX-APP-ID"] == Self.appID)
        #expect(call.headers["EX-APP-VERSION"]?.isEmpty == false)
        #expect(call.headers["AUTHORIZATION-APP-API"] == Data(":\(setup.secret)".utf8).base64EncodedString())
        #expect(call.headers["AA-VERSION"] == "5.0.0")
        #expect(call.headers["AA-REQUEST-ID"]?.isEmpty == false)
        #expect(call.headers["Accept-Language"] == "en")
        #expect(try Support.waitUntil(seconds: 5) { try setup.server.client(setup.server.admin).call("GET", "admin/workers")
            .data?["workers"]?.arrayValue?.first { $0["appId"] == .string(Self.appID) }?["lastTriggeredAt"]?.int64Value != nil })

        // The drain ended with an empty claim, which ended the coalescing: new work, a new call.
        _ = try alice.schedule("later")
        #expect(Support.waitUntil(seconds: 10) { setup.exApp.count == 2 })
        #expect(Support.waitUntil(seconds: 10) { setup.exApp.drained.load(ordering: .relaxed) == 41 })
    }

    @Test("no call while the provider runs a task of the type, nor while a long poll of its ExApp waits here")
    func noCallWhenBusyOrWaiting() throws {
        let setup = try Self.setUp()
        defer { setup.stop() }
        setup.exApp.mode.withLock { $0 = .ignore }
        let alice = setup.server.client(setup.server.alice)
        let exAppClient = APIClient(port: setup.server.port, caller: .exApp(Self.appID, setup.secret, user: ""))

        // A long poll of the ExApp waits: it takes the task, no call. (Two guards give this
        // outcome: the sender skips types a local long poll of the ExApp waits for, and the
        // request finds the task already running. The waiter lookup the first relies on is
        // tested in ReadinessStateMachineTests, the second in ProviderTriggerStoreTests.)
        let poll = LongPoll(
            port: setup.server.port, caller: .exApp(Self.appID, setup.secret, user: ""), wait: 20, types: [Self.type],
            extra: ["providerIds": [.string(Self.providerID)]])
        try #require(Support.waitUntil(seconds: 15) { setup.server.server.waitingLongPolls == 1 })
        let polled = try alice.schedule("for the long poll")
        #expect(try poll.response().taskID == polled)
        Thread.sleep(forTimeInterval: 1)
        #expect(setup.exApp.count == 0, "the long poll took it")

        // That task runs: more work makes no call (the provider asks again when done).
        _ = try alice.schedule("while busy")
        Thread.sleep(forTimeInterval: 1)
        #expect(setup.exApp.count == 0, "a task of the type runs")
        // Done: the waiting task is owed a call (the sweep finds it).
        #expect(try exAppClient.call("POST", "tasks_provider/\(polled)/result", json: ["output": ["output": "x"]]).status == 200)
        #expect(Support.waitUntil(seconds: 10) { setup.exApp.count >= 1 })
    }

    @Test("failed calls are retried, then given up and shown in admin/status and admin/workers; an ExApp that answers but never claims too; new work starts over")
    func retriesAndGivingUp() throws {
        let setup = try Self.setUp(maxAttempts: 2)
        defer { setup.stop() }
        let alice = setup.server.client(setup.server.alice)
        let admin = setup.server.client(setup.server.admin)
        setup.exApp.mode.withLock { $0 = .fail }
        _ = try alice.schedule("nobody takes it")

        func trigger() throws -> JSONValue? {
            try admin.call("GET", "admin/workers").data?["workers"]?.arrayValue?
                .first { $0["appId"] == .string(Self.appID) }?["triggers"]?.arrayValue?.first
        }
        try #require(Support.waitUntil(seconds: 15) { (try? trigger()?["state"]) == "given_up" })
        #expect(setup.exApp.count == 2, "two attempts")
        #expect(try trigger()?["lastError"] == "answered HTTP 500")
        let warnings = try admin.call("GET", "admin/status").data?["warnings"]?.arrayValue ?? []
        let warning = try #require(warnings.first { $0["code"] == "trigger_given_up" }, "\(warnings)")
        #expect(warning["message"]?.stringValue?.contains("answered HTTP 500") == true)
        #expect(warning["type"] == .string(Self.type))
        Thread.sleep(forTimeInterval: 1.5)
        #expect(setup.exApp.count == 2, "given up: no more calls, even from the sweep")

        // New work starts it over; this ExApp answers but never claims: called again at each
        // recheck while the task waits, then given up with that reason.
        setup.exApp.mode.withLock { $0 = .ignore }
        _ = try alice.schedule("again")
        try #require(Support.waitUntil(seconds: 15) {
            setup.exApp.count == 4 && (try? trigger()?["state"]) == "given_up"
        }, "\(setup.exApp.count) calls, \(String(describing: try? trigger()))")
        #expect(try trigger()?["lastError"]?.stringValue?.contains("did not take the waiting tasks") == true)
    }
}
