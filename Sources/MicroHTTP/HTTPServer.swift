import Glibc
import Logging
import Synchronization

/// An HTTP/1.1 server on libmicrohttpd's internal thread pool.
///
/// Handlers run synchronously on the pool's threads, so they may block (on the database,
/// say) without any Swift concurrency in between. `start()` and `stop()` may be called from
/// any thread, but not from inside a handler: stopping joins the threads handlers run on.
/// A server released while running is stopped at once, without the grace period of ``stop()``.
public final class HTTPServer: Sendable {
    /// How long ``stop()`` waits for requests in flight before closing their connections.
    public static let shutdownGracePeriodSeconds = 10

    private let configuration: HTTPServerConfiguration
    private let handler: any HTTPHandler
    private let logger: Logger
    private let daemon = Mutex<RunningDaemon?>(nil)
    private let port = Atomic<UInt16>(0)

    /// Creates a server; nothing is bound until ``start()``.
    public init(configuration: HTTPServerConfiguration, handler: any HTTPHandler, logger: Logger) {
        self.configuration = configuration
        self.handler = handler
        self.logger = logger
    }

    /// Binds the configured address and starts serving.
    ///
    /// - Throws: ``HTTPServerError/startFailed(_:)`` if the address cannot be bound (the text
    ///   says why, e.g. that it is in use), ``HTTPServerError/invalidAddress(_:)`` or
    ///   ``HTTPServerError/invalidConfiguration(_:)`` for bad settings, and
    ///   ``HTTPServerError/alreadyRunning`` if the server is running.
    public func start() throws(HTTPServerError) {
        let boundPort = try daemon.withLock { daemon throws(HTTPServerError) -> UInt16 in
            guard daemon == nil else { throw .alreadyRunning }
            let started = try DaemonLauncher.launch(configuration, handler: handler, logger: logger)
            // If reading the port fails, `started` is dropped here and stops the daemon.
            let boundPort = try started.boundPort()
            daemon = consume started
            return boundPort
        }
        port.store(boundPort, ordering: .releasing)
        logger.info("HTTP server listening", metadata: [
            "host": "\(configuration.host)", "port": "\(boundPort)",
            "threads": "\(configuration.threadPoolSize)", "handler.threads": "\(configuration.handlerThreads)",
        ])
    }

    /// The port the server listens on once started (the chosen one when configured with 0);
    /// 0 before the first start.
    public var boundPort: UInt16 {
        port.load(ordering: .acquiring)
    }

    /// Stops accepting connections, answers parked requests (``PendingResponse``) the handler
    /// has not answered with 503, lets the requests in flight finish (for up to
    /// ``shutdownGracePeriodSeconds``), then closes every connection. A handler that wants
    /// parked requests answered otherwise completes them before calling this.
    ///
    /// Idempotent: stopping a server that is not running does nothing. A second call made while
    /// the first is still waiting returns at once.
    public func stop() {
        guard var running = daemon.withLock({ $0.take() }) else { return }
        do {
            try running.stopAccepting()
        } catch {
            logger.warning("could not stop accepting before shutdown", metadata: ["error": "\(error)"])
        }
        running.cancelParkedRequests(answering: HTTPResponse(status: 503, headers: ["Connection": "close"]))
        running.waitForRequestsInFlight(upToSeconds: Self.shutdownGracePeriodSeconds)
        _ = consume running
        logger.info("HTTP server stopped", metadata: ["port": "\(boundPort)"])
    }
}
