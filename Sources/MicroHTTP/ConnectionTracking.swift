import CMicroHTTPD
import Logging

/// Connections as libmicrohttpd reports them, for the ``ConnectionRegistry``.
extension DaemonContext {
    /// A connection was accepted: admit it (or make room, or refuse it) and put it on the
    /// clock for its first request.
    func connectionOpened(_ connection: OpaquePointer) {
        do {
            let socket = try CheckedCall.run(
                { () -> Int32? in
                    let socket = CMicroHTTPD_connectionSocket(connection)
                    return socket == MHD_INVALID_SOCKET ? nil : socket
                },
                orThrow: { .callFailed(operation: "MHD_get_connection_info(CONNECTION_FD)", reason: $0) })
            let remoteAddress = CMicroHTTPD_clientAddress(connection).flatMap(ListenAddress.describe)
            for closed in connections.opened(connection, socket: socket, remoteAddress: remoteAddress) {
                logClosed(closed)
            }
        } catch {
            // Not expected for an accepted socket; the idle timeout still applies to it.
            logger.warning("connection has no request deadline", metadata: ["error": "\(error)"])
        }
    }

    /// One line per connection closed by the registry: why, and whose.
    func logClosed(_ closed: ConnectionRegistry.Closed) {
        var metadata: Logger.Metadata = ["remote.address": "\(closed.remoteAddress ?? "unknown")"]
        if let id = closed.requestID {
            metadata["request.id"] = "\(id)"
        }
        if let failure = closed.failure {
            metadata["error"] = "\(failure)"
        }
        switch closed.reason {
        case .overdue: logger.notice("request not received in time, closing the connection", metadata: metadata)
        case .evicted: logger.notice("connection limit reached, closing a connection that sent no request", metadata: metadata)
        case .refused: logger.warning("connection limit reached and every connection busy, refusing a new one (503)", metadata: metadata)
        }
    }
}
