/// One SQL statement whose values are named where they are used and bound as parameters.
///
///     let query: PostgresQuery = "SELECT id FROM tasks WHERE id = \(bind: id) AND type = ANY(\(bind: types))"
///     // query.sql == "SELECT id FROM tasks WHERE id = $1 AND type = ANY($2)"
///
/// Each `\(bind:)` becomes the next placeholder (`$1`, `$2`, …) and its value the matching
/// parameter; values never become part of the SQL text. The text therefore depends only on
/// the literal and the shape of the interpolations, so one call site produces one text, and
/// one prepared statement, whatever the values. Binding a value twice makes two parameters.
///
/// `\(unescaped:)` inserts trusted, static SQL (a column list, a constant): it is pasted into
/// the text as it is, so it must never carry input. `\(fragment:)` inserts another query,
/// numbering its placeholders after the ones before it, to share a condition between statements.
/// Plain `\(value)` does not compile, so nothing reaches the SQL text without saying how.
public struct PostgresQuery: Sendable, Equatable, ExpressibleByStringInterpolation {
    /// A piece of the statement: SQL text, or the placeholder of a parameter (by index).
    enum Part: Sendable, Equatable {
        case sql(String)
        case placeholder(Int)
    }

    /// The pieces, kept so that the query can be inserted into another with renumbered placeholders.
    private let parts: [Part]
    /// The statement's text, with `$1`, `$2`, … for the parameters.
    public let sql: String
    /// The parameters, in placeholder order.
    public let parameters: [PostgresParameter]

    private init(parts: [Part], parameters: [PostgresParameter]) {
        self.parts = parts
        self.parameters = parameters
        self.sql = parts.reduce(into: "") { text, part in
            switch part {
            case .sql(let sql): text += sql
            case .placeholder(let index): text += "$\(index + 1)"
            }
        }
    }

    /// A statement without parameters.
    public init(stringLiteral sql: String) {
        self.init(parts: [.sql(sql)], parameters: [])
    }

    public init(stringInterpolation: StringInterpolation) {
        self.init(parts: stringInterpolation.parts, parameters: stringInterpolation.parameters)
    }

    /// Collects a ``PostgresQuery`` literal's text and bound values.
    public struct StringInterpolation: StringInterpolationProtocol {
        var parts: [Part] = []
        var parameters: [PostgresParameter] = []

        public init(literalCapacity: Int, interpolationCount: Int) {
            parts.reserveCapacity(2 * interpolationCount + 1)
            parameters.reserveCapacity(interpolationCount)
        }

        public mutating func appendLiteral(_ literal: String) {
            parts.append(.sql(literal))
        }

        /// Binds `value` as the next parameter and writes its placeholder.
        public mutating func appendInterpolation(bind value: some PostgresBindable) {
            parts.append(.placeholder(parameters.count))
            parameters.append(value.postgresParameter)
        }

        /// Binds `value`, or SQL NULL for `nil`, as the next parameter and writes its placeholder.
        /// (Spelled out so that an optional reads as a value to bind, not as a suspicious interpolation.)
        public mutating func appendInterpolation<Value: PostgresBindable>(bind value: Value?) {
            parts.append(.placeholder(parameters.count))
            parameters.append(value.postgresParameter)
        }

        /// Writes `sql` into the statement as it is. Only for trusted, static SQL such as a
        /// column list; never for anything that comes from input, which must be bound.
        public mutating func appendInterpolation(unescaped sql: String) {
            parts.append(.sql(sql))
        }

        /// Binds each of `values` as the next parameter and writes their placeholders separated
        /// by commas (`$4, $5, $6`), for a list whose length the code fixes, such as a
        /// table's columns: the text still depends on the call site alone.
        public mutating func appendInterpolation(bindList values: [any PostgresBindable]) {
            for (index, value) in values.enumerated() {
                if index > 0 { parts.append(.sql(", ")) }
                appendInterpolation(bind: value)
            }
        }

        /// Writes another query into the statement, its placeholders numbered after the
        /// parameters bound so far and its parameters appended to them.
        public mutating func appendInterpolation(fragment: PostgresQuery) {
            let offset = parameters.count
            for part in fragment.parts {
                switch part {
                case .sql: parts.append(part)
                case .placeholder(let index): parts.append(.placeholder(index + offset))
                }
            }
            parameters += fragment.parameters
        }
    }
}
