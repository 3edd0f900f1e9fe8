import Dispatch
import Foundation
import Logging
import LoopbackHTTPClient
import MicroHTTP
import Synchronization
import Testing

@Suite("Starting and stopping")
struct LifecycleTests {
    private func makeServer(_ configuration: HTTPServerConfiguration = TestServer.configuration()) -> HTTPServer {
        var logger = Logger(label: "MicroHTTPTests") { _ in SwiftLogNoOpLogHandler() }
        logger.logLevel = .critical
        return HTTPServer(configuration: configuration, handler: EchoHandler(), logger: logger)
    }

    @Test("port 0 binds a real port that serves")
    func ephemeralPort() throws {
        let server = makeServer()
        #expect(server.boundPort == 0)
        try server.start()
        defer { server.stop() }
        #expect(server.boundPort != 0)
        let response = try LoopbackHTTPClient(port: server.boundPort, timeoutSeconds: 10).send(method: "GET", path: "/plain")
        #expect(response.status == 200)
    }

    @Test("stop is idempotent, also before start, and the port stops serving")
    func stopTwice() throws {
        let server = makeServer()
        server.stop()
        try server.start()
        let port = server.boundPort
        server.stop()
        server.stop()
        #expect(throws: LoopbackHTTPError.self) {
            try LoopbackHTTPClient(port: port, timeoutSeconds: 5).send(method: "GET", path: "/plain")
        }
    }

    @Test("a stopped server can start again")
    func restart() throws {
        let server = makeServer()
        try server.start()
        server.stop()
        try server.start()
        defer { server.stop() }
        let response = try LoopbackHTTPClient(port: server.boundPort, timeoutSeconds: 10).send(method: "GET", path: "/plain")
        #expect(response.status == 200)
    }

    @Test("starting a running server throws alreadyRunning")
    func startTwice() throws {
        let server = makeServer()
        try server.start()
        defer { server.stop() }
        #expect {
            try server.start()
        } throws: { error in
            guard case HTTPServerError.alreadyRunning = error else { return false }
            return true
        }
    }

    @Test("a port in use fails with startFailed naming the reason")
    func portInUse() throws {
        let first = makeServer()
        try first.start()
        defer { first.stop() }
        let second = makeServer(HTTPServerConfiguration(port: first.boundPort, threadPoolSize: 1))
        #expect {
            try second.start()
        } throws: { error in
            guard case HTTPServerError.startFailed(let reason) = error else { return false }
            return reason.contains("in use")
        }
    }

    @Test("a host name or bad setting is refused before binding", arguments: [
        (HTTPServerConfiguration(host: "localhost", port: 0), "address"),
        (HTTPServerConfiguration(host: "127.0.0.1", port: 0, threadPoolSize: 0), "configuration"),
        (HTTPServerConfiguration(host: "127.0.0.1", port: 0, maxBodyBytes: -1), "configuration"),
    ])
    func invalidConfiguration(configuration: HTTPServerConfiguration, kind: String) throws {
        let server = makeServer(configuration)
        #expect {
            try server.start()
        } throws: { error in
            switch error {
            case HTTPServerError.invalidAddress: kind == "address"
            case HTTPServerError.invalidConfiguration: kind == "configuration"
            default: false
            }
        }
    }

    @Test("a server released while running stops serving")
    func releasedWhileRunning() throws {
        var server: HTTPServer? = makeServer()
        try server?.start()
        let port = try #require(server?.boundPort)
        server = nil
        #expect(throws: LoopbackHTTPError.self) {
            try LoopbackHTTPClient(port: port, timeoutSeconds: 5).send(method: "GET", path: "/plain")
        }
    }

    @Test("the handler is released once the server stops or is released, with no warning logged", arguments: [true, false])
    func handlerReleased(callStop: Bool) throws {
        weak var releasedHandler: EchoHandler?
        let logs = CapturedLogs()
        do {
            let handler = EchoHandler()
            releasedHandler = handler
            let server = HTTPServer(
                configuration: TestServer.configuration(), handler: handler,
                logger: Logger(label: "MicroHTTPTests") { _ in CapturingLogHandler(logs: logs) })
            try server.start()
            let response = try LoopbackHTTPClient(port: server.boundPort, timeoutSeconds: 10).send(method: "GET", path: "/plain")
            #expect(response.status == 200)
            if callStop { server.stop() }
        }
        #expect(releasedHandler == nil)
        #expect(logs.all.filter { $0.level >= .warning }.map(\.message) == [])
    }

    @Test("stop lets a request in flight finish and deliver its response")
    func stopDrainsRequestsInFlight() throws {
        let handler = EchoHandler()
        let server = HTTPServer(
            configuration: TestServer.configuration(), handler: handler,
            logger: Logger(label: "MicroHTTPTests") { _ in SwiftLogNoOpLogHandler() })
        try server.start()
        let port = server.boundPort
        let outcome = SlowRequestOutcome()
        let finished = DispatchGroup()
        finished.enter()
        Thread {
            defer { finished.leave() }
            outcome.record { try LoopbackHTTPClient(port: port, timeoutSeconds: 20).send(method: "GET", path: "/slow") }
        }.start()
        #expect(handler.slowGate.waitUntilEntered(upToSeconds: 10))

        finished.enter()
        Thread {
            defer { finished.leave() }
            server.stop()
        }.start()
        handler.slowGate.open()

        #expect(finished.wait(timeout: .now() + 30) == .success)
        #expect(outcome.body == "slow")
    }
}

/// What the slow request's thread got back.
final class SlowRequestOutcome: Sendable {
    private let result = Mutex<String?>(nil)

    var body: String? { result.withLock { $0 } }

    func record(_ send: () throws -> LoopbackHTTPResponse) {
        let text = (try? send()).map { $0.bodyText } ?? "failed"
        result.withLock { $0 = text }
    }
}
