import CLibPQ

import Glibc

extension PostgresConnection {
    /// Whether the server has hung up on this idle connection, found without a round trip.
    ///
    /// A server that restarted or terminated the backend sends a final error and closes the
    /// socket while the connection sits idle, but libpq only notices on the next call. Reading
    /// whatever is already waiting on the socket lets the pool replace such a connection before
    /// a borrower's first statement fails on it.
    func hasServerHungUp() -> Bool {
        guard isUsable, let socket = socketDescriptor else { return true }
        // A hang-up arrives as at most an error message followed by end of file: a few reads.
        for _ in 0..<4 {
            var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, 0) > 0 else { break }
            guard consumeWaitingInput() else { return true }
        }
        return !isUsable
    }
}
