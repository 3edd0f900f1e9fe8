import Logging
import MicroHTTP

/// A started server on an ephemeral loopback port, with its handler and captured logs.
struct TestServer {
    let server: HTTPServer
    let handler: EchoHandler
    let logs: CapturedLogs
    var port: UInt16 { server.boundPort }

    /// A small configuration: tests run side by side on two cores.
    static func configuration(
        host: String = "127.0.0.1",
        threads: Int = 4,
        timeoutSeconds: UInt32 = 30,
        requestTimeoutSeconds: UInt32 = 30,
        maxBodyBytes: Int = 1 << 20
    ) -> HTTPServerConfiguration {
        HTTPServerConfiguration(
            host: host, port: 0, threadPoolSize: threads,
            connectionTimeoutSeconds: timeoutSeconds, requestTimeoutSeconds: requestTimeoutSeconds,
            maxBodyBytes: maxBodyBytes)
    }

    /// Starts a server, runs `body` with it and stops it, whatever `body` does.
    static func with<Result>(
        _ configuration: HTTPServerConfiguration = configuration(),
        _ body: (TestServer) throws -> Result
    ) throws -> Result {
        let logs = CapturedLogs()
        var logger = Logger(label: "MicroHTTPTests") { _ in CapturingLogHandler(logs: logs) }
        logger.logLevel = .trace
        let handler = EchoHandler()
        let server = HTTPServer(configuration: configuration, handler: handler, logger: logger)
        try server.start()
        defer { server.stop() }
        return try body(TestServer(server: server, handler: handler, logs: logs))
    }
}
