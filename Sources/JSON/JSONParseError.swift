/// Why a document could not be parsed.
///
/// ``description`` is a short sentence fit for an API error response.
public enum JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The bytes are not JSON: bad syntax, invalid UTF-8, a number out of range, a duplicate key…
    ///
    /// `line` and `column` count from 1; `position` is the byte offset jansson had reached.
    case syntax(message: String, line: Int, column: Int, position: Int)
    /// Arrays and objects are nested deeper than `limit` levels.
    case tooDeep(limit: Int)
    /// The input is empty or only whitespace.
    case empty

    /// A short human sentence, e.g. "invalid JSON at line 1, column 5: end of file expected near 'x'".
    public var description: String {
        switch self {
        case .syntax(let message, let line, let column, _):
            "invalid JSON at line \(line), column \(column): \(message)"
        case .tooDeep(let limit):
            "JSON nested deeper than \(limit) levels"
        case .empty:
            "empty JSON document"
        }
    }
}
