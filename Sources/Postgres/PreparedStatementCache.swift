/// The statements prepared on one connection's server session, by SQL text and declared
/// parameter types.
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
    private var names: [Key: String] = [:]
    private var nextNumber = 1

    /// What a prepared statement is: its text, and the parameter types it was prepared with.
    ///
    /// The types are part of the statement on the server (a binary `bytea` parameter is
    /// declared `bytea`), so the same text with other declared types is another statement.
    /// For the usual statement the types are all inferred and the text alone decides.
    struct Key: Hashable {
        let sql: String
        /// The declared type OIDs, 0 for inferred; empty when none is declared.
        let parameterTypes: [UInt32]
    }

    init(capacity: Int = Self.defaultCapacity) {
        self.capacity = capacity
    }

    /// The name of the statement prepared for `key`, if any.
    func name(for key: Key) -> String? {
        names[key]
    }

    /// A fresh statement name, or `nil` when the cache is full.
    mutating func reserveName() -> String? {
        guard names.count < capacity else { return nil }
        defer { nextNumber += 1 }
        return "taskdispatch_\(nextNumber)"
    }

    /// Records that `name` is now prepared for `key`.
    mutating func insert(_ name: String, for key: Key) {
        names[key] = name
    }

    /// Forgets the statement for `key`, whose server-side statement is gone or must be replaced.
    mutating func remove(_ key: Key) {
        names[key] = nil
    }

    /// Forgets everything, because the server session ended.
    mutating func removeAll() {
        names.removeAll()
    }
}
