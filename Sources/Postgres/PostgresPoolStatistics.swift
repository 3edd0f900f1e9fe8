/// A snapshot of a pool's connections.
public struct PostgresPoolStatistics: Sendable, Equatable, CustomStringConvertible {
    /// Connections open or being opened, borrowed and idle together.
    public var open: Int
    /// Open connections waiting in the pool.
    public var idle: Int
    /// Connections lent out (including ones being opened for a borrower).
    public var borrowed: Int
    /// Borrowers waiting for a connection to become free.
    public var waiting: Int

    /// Creates a snapshot.
    public init(open: Int, idle: Int, borrowed: Int, waiting: Int) {
        self.open = open
        self.idle = idle
        self.borrowed = borrowed
        self.waiting = waiting
    }

    /// The four counts on one line.
    public var description: String {
        "open: \(open), idle: \(idle), borrowed: \(borrowed), waiting: \(waiting)"
    }
}
