/// The format in which the server sends a query's result values.
///
/// libpq chooses the format per query, for all columns at once. ``PostgresRow``'s accessors
/// read both formats for the types they decode (integers, floating point, booleans, text-like
/// types and `bytea`), so a query whose columns are all of those types may ask for binary.
public enum PostgresResultFormat: Sendable {
    /// PostgreSQL's text format: readable for every type; `bytea` arrives as hex, twice its size.
    case text
    /// The binary format: `bytea` arrives as its bytes; integers and floating point big-endian.
    /// Columns of other types (`numeric`, `timestamptz`, arrays, `jsonb`, …) read as `nil`.
    case binary

    /// libpq's `resultFormat` argument.
    var code: Int32 {
        switch self {
        case .text: 0
        case .binary: 1
        }
    }
}
