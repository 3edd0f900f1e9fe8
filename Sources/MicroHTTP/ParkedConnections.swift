import CMicroHTTPD
import Glibc
import Synchronization

/// Connections suspended while their ``PendingResponse`` is open.
///
/// libmicrohttpd neither times out nor watches a suspended connection's socket, so a client
/// that hangs up would hold its slot until the application answers. ``DeadlineSweeper`` calls
/// ``cancelHungUp()`` once a second to find those; ``cancelAll(answering:)`` answers every
/// parked request before the daemon stops, which libmicrohttpd requires.
///
/// An entry is removed, under the lock, before its connection is resumed, and libmicrohttpd
/// closes a socket only after resuming: so a polled descriptor is never one already reused.
final class ParkedConnections: Sendable {
    private struct Entry: Sendable {
        /// Owned by libmicrohttpd: polled, never closed, here.
        let socket: Int32
        let pending: PendingResponse
    }

    private let entries = Mutex<[Int: Entry]>([:])

    /// The response for a request whose connection is lost; it is never read by anyone.
    static let lostConnectionResponse = HTTPResponse(status: 503)

    var count: Int { entries.withLock { $0.count } }

    func add(_ connection: OpaquePointer, socket: Int32, pending: PendingResponse) {
        entries.withLock { $0[Int(bitPattern: connection)] = Entry(socket: socket, pending: pending) }
    }

    func remove(_ connection: OpaquePointer) {
        _ = entries.withLock { $0.removeValue(forKey: Int(bitPattern: connection)) }
    }

    /// Cancels the parked requests whose client has closed or reset its connection; returns how many.
    @discardableResult
    func cancelHungUp() -> Int {
        let hungUp = entries.withLock { entries -> [PendingResponse] in
            guard !entries.isEmpty else { return [] }
            let parked = Array(entries.values)
            var descriptors = parked.map { pollfd(fd: $0.socket, events: CMicroHTTPD_POLLRDHUP, revents: 0) }
            // Polling with no timeout only reads each socket's state.
            guard poll(&descriptors, nfds_t(descriptors.count), 0) > 0 else { return [] }
            let gone = CMicroHTTPD_POLLRDHUP | Int16(POLLHUP) | Int16(POLLERR) | Int16(POLLNVAL)
            return zip(parked, descriptors).compactMap { entry, descriptor in
                descriptor.revents & gone != 0 ? entry.pending : nil
            }
        }
        // Outside the lock: completing resumes, which removes the entry.
        for pending in hungUp {
            pending.cancel(answering: Self.lostConnectionResponse)
        }
        return hungUp.count
    }

    /// Cancels every parked request (the server is stopping), answering `response` for those
    /// the application has not answered.
    ///
    /// With `sparingComputing`, requests whose handler is still computing the answer are left
    /// to finish (a graceful stop); without it every one is cancelled.
    func cancelAll(answering response: HTTPResponse, sparingComputing: Bool = false) {
        let all = entries.withLock { $0.values.map(\.pending) }.filter { !(sparingComputing && $0.isComputing) }
        for pending in all {
            pending.cancel(answering: response)
        }
    }
}
