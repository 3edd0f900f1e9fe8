/// A value that can be sent as a query parameter.
///
/// Parameters travel in PostgreSQL's text format and the server converts them to the
/// parameter's type, so `"42"` binds to an `integer` column and `"t"` to a `boolean`.
/// `[UInt8]` is the exception: it is sent as `bytea` in binary format (see ``PostgresParameter``).
public protocol PostgresBindable {
    /// The value in PostgreSQL's text format, or `nil` for SQL NULL.
    var postgresText: String? { get }

    /// The value as it is sent; by default ``postgresText`` in text format.
    var postgresParameter: PostgresParameter { get }
}

extension PostgresBindable {
    /// ``postgresText`` in text format.
    public var postgresParameter: PostgresParameter {
        .text(postgresText)
    }
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

    /// The wrapped value's parameter, or SQL NULL for `.none`.
    public var postgresParameter: PostgresParameter {
        switch self {
        case .some(let value): value.postgresParameter
        case .none: .null
        }
    }
}
