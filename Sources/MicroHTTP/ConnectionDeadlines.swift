import Glibc
import Synchronization

/// The time by which each open connection must have delivered its next complete request.
///
/// libmicrohttpd's own timeout counts idle time only, so a client that sends one byte now and
/// then holds its connection (and, with enough of them, every connection slot) for ever. This
/// registry gives each connection a deadline when it is accepted and again whenever a response
/// has been sent; ``DeadlineSweeper`` shuts down the sockets that miss it.
///
/// It is filled from libmicrohttpd's worker threads and read by the sweeper's thread, hence the
/// lock. Shutting a socket down happens under the same lock as the closing notice removes the
/// entry, and libmicrohttpd closes the socket only after that notice: so the sweeper can never
/// shut down a descriptor number that has since been reused for another file.
final class ConnectionDeadlines: Sendable {
    /// Whether a connection is on the clock.
    enum State: Sendable {
        /// Waiting for, or receiving, a request that must be complete by `deadline`.
        case awaitingRequest(deadline: ContinuousClock.Instant)
        /// The application has the request, or its response is being sent: no deadline, so a
        /// slow database query does not cost the client its answer. A connection suspended for
        /// a long poll belongs here too.
        case handling
        /// Shut down by the sweeper; libmicrohttpd has yet to notice and close it.
        case cutOff
    }

    /// One connection's entry.
    struct Entry: Sendable {
        /// Owned by libmicrohttpd: shut down, never closed, here.
        let socket: Int32
        let remoteAddress: String?
        /// The request whose head has arrived, if any, for the log line.
        var requestID: UInt64?
        var state: State
    }

    /// A connection the sweeper has just cut off.
    struct Overdue: Sendable {
        let requestID: UInt64?
        let remoteAddress: String?
        /// Why `shutdown` failed, if it did (say because the peer had already reset).
        let failure: HTTPServerError?
    }

    /// How long a connection has for each request: the idle allowance plus the request allowance.
    let allowance: Duration

    /// Keyed by the `MHD_Connection` address, which libmicrohttpd does not reuse before the
    /// closing notice has removed the entry.
    private let entries = Mutex<[Int: Entry]>([:])

    init(allowance: Duration) {
        self.allowance = allowance
    }

    /// A connection was accepted: its first request is due within ``allowance``.
    func opened(_ connection: OpaquePointer, socket: Int32, remoteAddress: String?) {
        let entry = Entry(
            socket: socket, remoteAddress: remoteAddress, requestID: nil,
            state: .awaitingRequest(deadline: .now + allowance))
        entries.withLock { $0[key(connection)] = entry }
    }

    /// libmicrohttpd is about to close the connection's socket.
    func closed(_ connection: OpaquePointer) {
        _ = entries.withLock { $0.removeValue(forKey: key(connection)) }
    }

    /// A request head arrived; the deadline is unchanged, since the body counts too.
    func requestArrived(on connection: OpaquePointer, id: UInt64) {
        entries.withLock { $0[key(connection)]?.requestID = id }
    }

    /// The request is complete and handed to the application: the clock stops.
    func handlingStarted(on connection: OpaquePointer) {
        entries.withLock { entries in
            guard case .awaitingRequest = entries[key(connection)]?.state else { return }
            entries[key(connection)]?.state = .handling
        }
    }

    /// A response went out (or the request ended otherwise): the next request is due within
    /// ``allowance``.
    func requestFinished(on connection: OpaquePointer) {
        entries.withLock { entries in
            guard var entry = entries[key(connection)] else { return }
            if case .cutOff = entry.state { return }
            entry.requestID = nil
            entry.state = .awaitingRequest(deadline: .now + allowance)
            entries[key(connection)] = entry
        }
    }

    /// Shuts down every connection past its deadline, so that libmicrohttpd sees it fail and
    /// closes it on its own thread; returns them for logging.
    func cutOffOverdue(at now: ContinuousClock.Instant) -> [Overdue] {
        entries.withLock { entries in
            let due = entries.filter { _, entry in
                guard case .awaitingRequest(let deadline) = entry.state else { return false }
                return deadline <= now
            }
            return due.map { key, entry in
                let failure = Self.shutDown(entry.socket)
                // Marked so that a worker thread still busy elsewhere is not sent a second
                // shutdown, and the log a second line, before it gets round to closing.
                entries[key]?.state = .cutOff
                return Overdue(requestID: entry.requestID, remoteAddress: entry.remoteAddress, failure: failure)
            }
        }
    }

    /// `shutdown` rather than `close`: the descriptor stays libmicrohttpd's to close, and its
    /// epoll set reports the hang-up to the thread that owns the connection.
    private static func shutDown(_ socket: Int32) -> HTTPServerError? {
        do {
            try CheckedCall.run(
                { Glibc.shutdown(socket, Int32(SHUT_RDWR)) == 0 ? () : nil },
                orThrow: { .callFailed(operation: "shutdown", reason: $0) })
            return nil
        } catch {
            return error
        }
    }

    private func key(_ connection: OpaquePointer) -> Int {
        Int(bitPattern: connection)
    }
}
