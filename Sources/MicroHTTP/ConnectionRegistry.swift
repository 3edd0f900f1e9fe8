import Glibc
import Synchronization

/// Every open connection: which ones may stay (the connection limits) and by when each must
/// have delivered its next request (the deadlines).
///
/// **Admission.** A connection that pushes the total past ``Limits/total``, or its client
/// address past ``Limits/perAddress``, makes room by closing the oldest connection (of all, or
/// of that address) that is waiting for a request: first those that have never sent a complete
/// request head, then idle keep-alive ones. Connections whose request is being handled (long
/// polls included) are never closed. When there is nothing to close, the new connection is
/// answered `503` (over plain HTTP) and closed at once. So idle sockets, however many, cannot lock anyone out,
/// and a client is never left hanging in the accept queue.
///
/// **Deadlines.** libmicrohttpd's own timeout counts idle time only, so a client that sends one
/// byte now and then would hold its connection for ever. A new connection must deliver its
/// first request head within ``Allowances/firstHead``, and every request (head and body) must
/// be complete within ``Allowances/request`` of the connection being accepted or of the previous
/// response; ``DeadlineSweeper`` shuts down the sockets that miss it.
///
/// It is filled from libmicrohttpd's worker threads and read by the sweeper's thread, hence the
/// lock. Shutting a socket down happens under the same lock as the closing notice removes the
/// entry, and libmicrohttpd closes the socket only after that notice: so no one here can ever
/// shut down a descriptor number that has since been reused for another file.
final class ConnectionRegistry: Sendable {
    /// How many connections may be open.
    struct Limits: Sendable {
        var total: Int
        /// Per client address; nil for no limit.
        var perAddress: Int?
    }

    /// How long a connection has; nil turns that deadline off.
    struct Allowances: Sendable {
        /// For each request, head and body, from acceptance or the previous response.
        var request: Duration?
        /// For the first request's head, from acceptance.
        var firstHead: Duration?
    }

    /// Whether a connection is on the clock.
    enum State: Sendable {
        /// Waiting for, or receiving, a request that must be complete by `deadline`.
        case awaitingRequest(deadline: ContinuousClock.Instant?)
        /// The application has the request, or its response is being sent: no deadline, so a
        /// slow database query does not cost the client its answer. A connection suspended for
        /// a long poll belongs here too.
        case handling
        /// Shut down here; libmicrohttpd has yet to notice and close it.
        case cutOff
    }

    /// One connection's entry.
    struct Entry: Sendable {
        /// Owned by libmicrohttpd: shut down, never closed, here.
        let socket: Int32
        let remoteAddress: String?
        /// The client's address without its port, for the per-address limit.
        let clientAddress: String?
        /// Acceptance order: the oldest is closed first to make room.
        let sequence: UInt64
        /// When the current request's clock started (acceptance, or the previous response).
        var since: ContinuousClock.Instant
        /// Whether a request head has ever arrived on it.
        var sentHead = false
        /// The request whose head has arrived, if any, for the log line.
        var requestID: UInt64?
        var state: State

        /// Waiting for a request, with no head of one yet: free to close to make room.
        var isWaiting: Bool {
            guard case .awaitingRequest = state else { return false }
            return requestID == nil
        }
    }

    /// A connection closed here, for the log.
    struct Closed: Sendable {
        enum Reason: Sendable, Equatable {
            /// Its request did not arrive in time.
            case overdue
            /// Closed while waiting, to make room for a new connection.
            case evicted
            /// New, and refused: the limit was reached and nothing could make room.
            case refused
        }

        let reason: Reason
        let requestID: UInt64?
        let remoteAddress: String?
        /// Why `shutdown` failed, if it did (say because the peer had already reset).
        let failure: HTTPServerError?
    }

    let limits: Limits
    let allowances: Allowances
    /// Whether a refused connection is told why (`503`); over TLS plain text would be noise.
    let answersRefusals: Bool

    private struct Table: Sendable {
        /// Keyed by the `MHD_Connection` address, which libmicrohttpd does not reuse before
        /// the closing notice has removed the entry.
        var entries: [Int: Entry] = [:]
        /// Connections that hold a slot (not cut off), in all and per client address.
        var open = 0
        var perAddress: [String: Int] = [:]
        var nextSequence: UInt64 = 0

        mutating func holdSlot(of entry: Entry, change: Int) {
            open += change
            guard let address = entry.clientAddress else { return }
            let count = perAddress[address, default: 0] + change
            perAddress[address] = count > 0 ? count : nil
        }
    }
    private let table = Mutex(Table())

    init(limits: Limits, allowances: Allowances, answersRefusals: Bool = true) {
        self.limits = limits
        self.allowances = allowances
        self.answersRefusals = answersRefusals
    }

    /// A connection was accepted: admits it (closing others to make room, or refusing it) and
    /// puts it on the clock for its first request. Returns the connections closed here.
    func opened(_ connection: OpaquePointer, socket: Int32, remoteAddress: String?) -> [Closed] {
        let now = ContinuousClock.now
        let firstDue = [allowances.firstHead, allowances.request].compactMap { $0 }.min().map { now + $0 }
        let clientAddress = remoteAddress.map(Self.withoutPort)
        return table.withLock { table in
            let entry = Entry(
                socket: socket, remoteAddress: remoteAddress, clientAddress: clientAddress, sequence: table.nextSequence,
                since: now, state: .awaitingRequest(deadline: firstDue))
            table.nextSequence += 1
            table.entries[key(connection)] = entry
            table.holdSlot(of: entry, change: 1)

            var closed: [Closed] = []
            if let perAddress = limits.perAddress, let clientAddress, table.perAddress[clientAddress, default: 0] > perAddress {
                closed.append(makeRoom(in: &table, for: connection) { $0.clientAddress == clientAddress })
            }
            if closed.last?.reason != .refused, table.open > limits.total {
                closed.append(makeRoom(in: &table, for: connection) { _ in true })
            }
            return closed
        }
    }

    /// libmicrohttpd is about to close the connection's socket.
    func closed(_ connection: OpaquePointer) {
        table.withLock { table in
            guard let entry = table.entries.removeValue(forKey: key(connection)) else { return }
            if case .cutOff = entry.state { return }
            table.holdSlot(of: entry, change: -1)
        }
    }

    /// A request head arrived: the request as a whole is due within the request allowance.
    func requestArrived(on connection: OpaquePointer, id: UInt64) {
        table.withLock { table in
            guard var entry = table.entries[key(connection)], case .awaitingRequest = entry.state else { return }
            entry.requestID = id
            entry.sentHead = true
            entry.state = .awaitingRequest(deadline: allowances.request.map { entry.since + $0 })
            table.entries[key(connection)] = entry
        }
    }

    /// The request is complete and handed to the application: the clock stops.
    func handlingStarted(on connection: OpaquePointer) {
        table.withLock { table in
            guard case .awaitingRequest = table.entries[key(connection)]?.state else { return }
            table.entries[key(connection)]?.state = .handling
        }
    }

    /// A response went out (or the request ended otherwise): the next request is due within
    /// the request allowance.
    func requestFinished(on connection: OpaquePointer) {
        let now = ContinuousClock.now
        table.withLock { table in
            guard var entry = table.entries[key(connection)] else { return }
            if case .cutOff = entry.state { return }
            entry.requestID = nil
            entry.since = now
            entry.state = .awaitingRequest(deadline: allowances.request.map { now + $0 })
            table.entries[key(connection)] = entry
        }
    }

    /// Shuts down every connection past its deadline, so that libmicrohttpd sees it fail and
    /// closes it on its own thread; returns them for logging.
    func cutOffOverdue(at now: ContinuousClock.Instant) -> [Closed] {
        table.withLock { table in
            let due = table.entries.filter { _, entry in
                guard case .awaitingRequest(let deadline?) = entry.state else { return false }
                return deadline <= now
            }
            return due.map { key, _ in cutOff(key, in: &table, reason: .overdue) }
        }
    }

    // MARK: Making room

    /// Closes the oldest waiting connection among those `matching` (never-used ones first),
    /// or, when none is waiting, refuses `connection` itself.
    private func makeRoom(
        in table: inout Table, for connection: OpaquePointer, matching: (Entry) -> Bool
    ) -> Closed {
        let newKey = key(connection)
        var best: (key: Int, entry: Entry)?
        for (key, entry) in table.entries where key != newKey && entry.isWaiting && matching(entry) {
            guard let current = best?.entry else {
                best = (key, entry)
                continue
            }
            // Never-used before used, then oldest first.
            if (entry.sentHead ? 1 : 0, entry.sequence) < (current.sentHead ? 1 : 0, current.sequence) { best = (key, entry) }
        }
        if let best { return cutOff(best.key, in: &table, reason: .evicted) }
        if answersRefusals { Self.sendBusy(table.entries[newKey]?.socket) }
        return cutOff(newKey, in: &table, reason: .refused)
    }

    private func cutOff(_ key: Int, in table: inout Table, reason: Closed.Reason) -> Closed {
        guard let entry = table.entries[key] else {
            return Closed(reason: reason, requestID: nil, remoteAddress: nil, failure: nil)
        }
        let failure = Self.shutDown(entry.socket)
        // Marked so that a worker thread still busy elsewhere is not sent a second shutdown,
        // and the log a second line, before it gets round to closing. Its slot is free now.
        table.entries[key]?.state = .cutOff
        table.holdSlot(of: entry, change: -1)
        return Closed(reason: reason, requestID: entry.requestID, remoteAddress: entry.remoteAddress, failure: failure)
    }

    /// The answer for a refused connection: nothing has been read from it, so it has an empty
    /// send buffer and this never blocks.
    private static let busyResponse = Array(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: 37\r\n\r\nthe server has no connection to spare"
            .utf8)

    private static func sendBusy(_ socket: Int32?) {
        guard let socket else { return }
        // Best effort: a client that already left gets nothing, which is fine.
        _ = busyResponse.withUnsafeBytes { bytes in
            send(socket, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
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

    /// `"203.0.113.9:51234"` -> `"203.0.113.9"`, `"[::1]:51234"` -> `"[::1]"`.
    static func withoutPort(_ address: String) -> String {
        guard let colon = address.lastIndex(of: ":"), address.first == "[" || address.firstIndex(of: ":") == colon else {
            return address
        }
        return String(address[..<colon])
    }

    private func key(_ connection: OpaquePointer) -> Int {
        Int(bitPattern: connection)
    }
}
