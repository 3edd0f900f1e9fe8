/// A value that can be sent as a text-format query parameter.
///
/// Parameters travel in PostgreSQL's text format and the server converts them to the
/// parameter's type, so `"42"` binds to an `integer` column and `"t"` to a `boolean`.
public protocol PostgresBindable {
    /// The value in PostgreSQL's text format, or `nil` for SQL NULL.
    var postgresText: String? { get }
}

extension String: PostgresBindable {
    /// The string itself.
    public var postgresText: String? { self }
}

extension Int: PostgresBindable {
    /// The decimal digits.
    public var postgresText: String? { String(self) }
}

extension Int32: PostgresBindable {
    /// The decimal digits.
    public var postgresText: String? { String(self) }
}

extension Int64: PostgresBindable {
    /// The decimal digits.
    public var postgresText: String? { String(self) }
}

extension Double: PostgresBindable {
    /// The shortest text that reads back as the same value; infinities and NaN in the spelling PostgreSQL reads.
    public var postgresText: String? {
        if isNaN { return "NaN" }
        if self == .infinity { return "Infinity" }
        if self == -.infinity { return "-Infinity" }
        return description
    }
}

extension Bool: PostgresBindable {
    /// `"t"` or `"f"`, as PostgreSQL writes booleans.
    public var postgresText: String? { self ? "t" : "f" }
}

extension Optional: PostgresBindable where Wrapped: PostgresBindable {
    /// The wrapped value's text, or `nil` (SQL NULL) for `.none`.
    public var postgresText: String? {
        switch self {
        case .some(let value): value.postgresText
        case .none: nil
        }
    }
}
