/// The statements prepared on one connection's server session, by SQL text.
///
/// Prepared statements live in the server session, so the cache belongs to the connection and is
/// emptied whenever the session ends. It is bounded so that a caller building SQL text
/// dynamically cannot make the server keep an unbounded number of plans; past the bound,
/// new texts run unnamed (parsed every time) instead.
///
/// A capacity of 0 prepares nothing, so every statement runs unnamed: through PgBouncer in
/// transaction pooling mode (before 1.21) consecutive statements may run in different server
/// sessions, and a statement prepared in one is unknown in the next.
struct PreparedStatementCache {
    /// How many statements one connection keeps prepared unless told otherwise.
    static let defaultCapacity = 512

    /// How many statements this connection keeps prepared; 0 for none.
    let capacity: Int
    private var names: [String: String] = [:]
    private var nextNumber = 1

    init(capacity: Int = Self.defaultCapacity) {
        self.capacity = capacity
    }

    /// The name of the statement prepared for `sql`, if any.
    func name(for sql: String) -> String? {
        names[sql]
    }

    /// A fresh statement name for `sql`, or `nil` when the cache is full.
    mutating func reserveName(for sql: String) -> String? {
        guard names.count < capacity else { return nil }
        defer { nextNumber += 1 }
        return "taskdispatch_\(nextNumber)"
    }

    /// Records that `name` is now prepared for `sql`.
    mutating func insert(_ name: String, for sql: String) {
        names[sql] = name
    }

    /// Forgets the statement for `sql`, whose server-side statement is gone or must be replaced.
    mutating func remove(_ sql: String) {
        names[sql] = nil
    }

    /// Forgets everything, because the server session ended.
    mutating func removeAll() {
        names.removeAll()
    }
}
