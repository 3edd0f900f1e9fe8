import Logging
import Synchronization

/// What the C callbacks of one running daemon share, handed to libmicrohttpd as its `cls`.
///
/// The daemon holds one retained reference from start until `MHD_stop_daemon` has returned,
/// so the callbacks can use it without retaining it on every request.
final class DaemonContext: Sendable {
    let handler: any HTTPHandler
    let logger: Logger
    let maxBodyBytes: Int
    /// Open connections: their limits and request deadlines.
    let connections: ConnectionRegistry
    /// The PEM text libmicrohttpd was given, as C strings that outlive the daemon; nil for plain HTTP.
    let tlsMaterial: TLSMaterial?
    /// Connections suspended for a ``PendingResponse``.
    let parked = ParkedConnections()
    /// Runs the handlers while their connections are suspended; nil runs them on
    /// libmicrohttpd's threads (``HTTPServerConfiguration/handlerThreads`` 0).
    let handlers: HandlerPool?
    /// Set once the server stops answering parked requests: a request parked after that is
    /// answered at once, so no connection is left suspended when the daemon stops.
    let stopping = Atomic<Bool>(false)

    /// Requests between their first callback and their completion notice; ``HTTPServer/stop()``
    /// waits for this to reach zero so answers already being computed still go out.
    let requestsInFlight = Atomic<Int>(0)

    /// libmicrohttpd reports why it failed to start only through its log callback.
    private let lastDaemonMessage = Mutex<String?>(nil)

    init(
        handler: any HTTPHandler, logger: Logger, maxBodyBytes: Int, connections: ConnectionRegistry, tls: TLSCredentials?,
        handlers: HandlerPool?
    ) {
        self.handler = handler
        self.handlers = handlers
        self.logger = logger
        self.maxBodyBytes = maxBodyBytes
        self.connections = connections
        tlsMaterial = tls.map(TLSMaterial.init)
    }

    func recordDaemonMessage(_ message: String) {
        lastDaemonMessage.withLock { $0 = message }
        logger.info("libmicrohttpd: \(message)")
    }

    var latestDaemonMessage: String? {
        lastDaemonMessage.withLock { $0 }
    }
}
