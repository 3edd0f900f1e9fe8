/// One query parameter as it is handed to libpq: SQL NULL, a value in PostgreSQL's text
/// format, or a `bytea` value in binary format.
///
/// `bytea` travels as its raw bytes because its text format doubles the size (two hex digits
/// per byte), which for a file means twice the memory and twice the bytes on the wire, both
/// ways. Every other value keeps the text format, which the server converts to whatever type
/// the statement gives the placeholder.
public struct PostgresParameter: Sendable, Equatable {
    enum Value: Sendable, Equatable {
        case null
        case text(String)
        case binary([UInt8])
    }

    let value: Value
    /// The placeholder's type as sent with the statement, or 0 to let the server infer it.
    /// Binary values carry their type, because raw bytes mean something only for the type
    /// they were written for, whatever the statement's context would infer.
    let typeOID: UInt32

    /// SQL NULL, of whatever type the statement gives the placeholder.
    public static let null = PostgresParameter(value: .null, typeOID: 0)

    /// A value in PostgreSQL's text format, or SQL NULL for `nil`.
    public static func text(_ text: String?) -> PostgresParameter {
        PostgresParameter(value: text.map(Value.text) ?? .null, typeOID: 0)
    }

    /// A `bytea` value, sent in binary format as the bytes themselves.
    public static func bytea(_ bytes: [UInt8]) -> PostgresParameter {
        PostgresParameter(value: .binary(bytes), typeOID: PostgresTypeOID.bytea)
    }

    /// libpq's format code: 0 for text (and NULL, which has no format), 1 for binary.
    var formatCode: Int32 {
        if case .binary = value { 1 } else { 0 }
    }

    /// The length libpq reads for a binary value; ignored for text, which ends at its NUL.
    var binaryLength: Int {
        if case .binary(let bytes) = value { bytes.count } else { 0 }
    }

    /// True for a text value that a C string cannot carry.
    var containsNUL: Bool {
        if case .text(let text) = value { text.utf8.contains(0) } else { false }
    }
}
