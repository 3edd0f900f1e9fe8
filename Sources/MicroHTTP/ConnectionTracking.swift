import CMicroHTTPD
import Logging

/// Connections as libmicrohttpd reports them, for their ``ConnectionDeadlines``.
extension DaemonContext {
    /// A connection was accepted: put it on the clock for its first request.
    func connectionOpened(_ connection: OpaquePointer) {
        guard let deadlines else { return }
        do {
            let socket = try CheckedCall.run(
                { () -> Int32? in
                    let socket = CMicroHTTPD_connectionSocket(connection)
                    return socket == MHD_INVALID_SOCKET ? nil : socket
                },
                orThrow: { .callFailed(operation: "MHD_get_connection_info(CONNECTION_FD)", reason: $0) })
            let remoteAddress = CMicroHTTPD_clientAddress(connection).flatMap(ListenAddress.describe)
            deadlines.opened(connection, socket: socket, remoteAddress: remoteAddress)
        } catch {
            // Not expected for an accepted socket; the idle timeout still applies to it.
            logger.warning("connection has no request deadline", metadata: ["error": "\(error)"])
        }
    }
}
