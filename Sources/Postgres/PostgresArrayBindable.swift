/// An element type whose Swift arrays can be sent as one query parameter.
///
/// Swift allows only one conditional conformance of `Array` to ``PostgresBindable``, so the
/// element type decides how its arrays are written: most elements make a PostgreSQL array
/// literal (`{"a","b"}`), while `[UInt8]` becomes a `bytea` value.
public protocol PostgresArrayBindable {
    /// The text-format value of a whole array of this element type, or `nil` for SQL NULL.
    static func postgresText(of elements: [Self]) -> String?

    /// A whole array of this element type as it is sent; by default its text in text format.
    static func postgresParameter(of elements: [Self]) -> PostgresParameter
}

extension PostgresArrayBindable {
    /// The array's ``postgresText(of:)`` in text format.
    public static func postgresParameter(of elements: [Self]) -> PostgresParameter {
        .text(postgresText(of: elements))
    }
}

extension PostgresArrayBindable where Self: PostgresBindable {
    /// An array literal in which every element is double-quoted, so commas, braces, quotes,
    /// backslashes, whitespace, empty strings and the word `NULL` all survive; SQL NULL elements are bare `NULL`.
    public static func postgresText(of elements: [Self]) -> String? {
        var literal = "{"
        for (index, element) in elements.enumerated() {
            if index > 0 {
                literal += ","
            }
            guard let text = element.postgresText else {
                literal += "NULL"
                continue
            }
            literal += "\""
            for character in text.unicodeScalars {
                if character == "\"" || character == "\\" {
                    literal += "\\"
                }
                literal.unicodeScalars.append(character)
            }
            literal += "\""
        }
        return literal + "}"
    }
}

extension String: PostgresArrayBindable {}
extension Int: PostgresArrayBindable {}
extension Int32: PostgresArrayBindable {}
extension Int64: PostgresArrayBindable {}
extension Double: PostgresArrayBindable {}
extension Bool: PostgresArrayBindable {}
extension Optional: PostgresArrayBindable where Wrapped: PostgresArrayBindable & PostgresBindable {}

extension UInt8: PostgresArrayBindable {
    /// The bytes in `bytea` hex format: `\x` followed by two lowercase hex digits per byte.
    public static func postgresText(of elements: [UInt8]) -> String? {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var text: [UInt8] = [UInt8(ascii: "\\"), UInt8(ascii: "x")]
        text.reserveCapacity(2 + elements.count * 2)
        for byte in elements {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// The bytes themselves as a binary `bytea` parameter: no hex text that doubles their size.
    public static func postgresParameter(of elements: [UInt8]) -> PostgresParameter {
        .bytea(elements)
    }
}

extension Array: PostgresBindable where Element: PostgresArrayBindable {
    /// The array as its element type writes it: an array literal, or `bytea` hex for `[UInt8]`.
    public var postgresText: String? {
        Element.postgresText(of: self)
    }

    /// The array as its element type sends it: array literal text, or binary `bytea` for `[UInt8]`.
    public var postgresParameter: PostgresParameter {
        Element.postgresParameter(of: self)
    }
}
