import CLibPQ
import Logging

import Glibc

/// A dedicated connection that `LISTEN`s on some channels and waits for notifications.
///
/// It has one owner (a thread) and blocks in ``next(timeoutMilliseconds:)``. The connection is
/// opened on the first call and opened again after it breaks: since notifications sent while
/// no connection listened are lost, each (re)connection is reported as ``Event/connected``,
/// which callers treat as "something may have been missed".
public final class PostgresListener {
    /// What a wait ended with.
    public enum Event: Sendable, Equatable {
        /// The connection was (re)opened and is listening; anything sent before may be lost.
        case connected
        /// Notifications arrived, in the order they were sent.
        case notifications([PostgresNotification])
        /// Nothing arrived within the timeout.
        case timedOut
    }

    private let connectionString: String
    private let channels: [String]
    private let logger: Logger
    private var connection: PostgresConnection?

    /// Prepares a listener; nothing connects until ``next(timeoutMilliseconds:)``.
    ///
    /// - Precondition: channel names are lower-case letters, digits and `_` (they are written
    ///   into the `LISTEN` statement, which takes no parameters).
    public init(connectionString: String, channels: [String], logger: Logger) {
        precondition(
            channels.allSatisfy { !$0.isEmpty && $0.utf8.allSatisfy { (0x61...0x7a).contains($0) || (0x30...0x39).contains($0) || $0 == 0x5f } },
            "channel names are lower-case letters, digits and underscores")
        self.connectionString = connectionString
        self.channels = channels
        self.logger = logger
    }

    deinit {
        connection?.close()
    }

    /// True while a listening connection is open.
    public var isConnected: Bool { connection?.isUsable ?? false }

    /// The backend serving the listening connection, 0 without one (for tests and diagnostics).
    public var backendPID: Int32 { connection?.backendPID ?? 0 }

    /// Connects if needed (returning ``Event/connected``), else waits up to `timeoutMilliseconds`
    /// for notifications.
    ///
    /// - Throws: ``PostgresError/Kind/connectionFailed`` when the database cannot be reached and
    ///   ``PostgresError/Kind/connectionLost`` when the listening connection broke; the next
    ///   call connects again.
    public func next(timeoutMilliseconds: Int32) throws(PostgresError) -> Event {
        guard let connection, connection.isUsable else {
            try connect()
            return .connected
        }
        let waiting = drain(connection)
        if !waiting.isEmpty { return .notifications(waiting) }
        guard let socket = connection.socketDescriptor else { throw lost("the connection has no socket") }
        var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
        let ready = poll(&descriptor, 1, timeoutMilliseconds)
        if ready < 0 {
            let code = errno
            if code == EINTR { return .timedOut }
            throw lost("poll failed: \(String(cString: strerror(code)))")
        }
        guard ready > 0 else { return .timedOut }
        guard connection.consumeWaitingInput() else { throw lost("reading from the server failed") }
        let arrived = drain(connection)
        if !arrived.isEmpty { return .notifications(arrived) }
        // Readable but nothing for us: a partial message, or the server hung up.
        guard connection.isUsable else { throw lost("the server closed the connection") }
        return .timedOut
    }

    /// Closes the connection; the next wait opens a new one.
    public func close() {
        connection?.close()
        connection = nil
    }

    private func connect() throws(PostgresError) {
        close()
        let opened = try PostgresConnection(connectionString: connectionString, logger: logger)
        for channel in channels {
            try opened.execute("LISTEN \(channel)")
        }
        connection = opened
        logger.debug("listening for notifications", metadata: [
            "postgres.channels": "\(channels.joined(separator: ","))", "postgres.backend_pid": "\(opened.backendPID)",
        ])
    }

    private func drain(_ connection: PostgresConnection) -> [PostgresNotification] {
        var notifications: [PostgresNotification] = []
        while let notification = connection.takeNotification() {
            notifications.append(notification)
        }
        return notifications
    }

    private func lost(_ reason: String) -> PostgresError {
        close()
        return PostgresError(kind: .connectionLost, message: "listening connection lost: \(reason)")
    }
}
