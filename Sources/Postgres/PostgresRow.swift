import CLibPQ

/// A view of one row of a ``PostgresResult``.
///
/// Values arrive in PostgreSQL's text format unless the query asked for
/// ``PostgresResultFormat/binary``; each accessor reads either format and returns `nil` for
/// SQL NULL or for a value that is not of the requested type. Naming a column the query did
/// not return is a programmer error and stops the program, like an array index out of range.
public struct PostgresRow: Sendable {
    /// The result this row belongs to; kept alive by the row.
    let result: PostgresResult
    /// The row's index in the result.
    let index: Int

    /// True if the column holds SQL NULL.
    public func isNull(_ column: String) -> Bool {
        isNull(at: result.columnIndex(column))
    }

    /// The column's text, or `nil` for NULL.
    public func string(_ column: String) -> String? {
        string(at: result.columnIndex(column))
    }

    /// The column as a 64-bit integer, or `nil` for NULL or non-integer text.
    public func int64(_ column: String) -> Int64? {
        int64(at: result.columnIndex(column))
    }

    /// The column as an integer, or `nil` for NULL or non-integer text.
    public func int(_ column: String) -> Int? {
        int(at: result.columnIndex(column))
    }

    /// The column as a double (`NaN`, `Infinity` and `-Infinity` included), or `nil` for NULL or non-numeric text.
    public func double(_ column: String) -> Double? {
        double(at: result.columnIndex(column))
    }

    /// The column as a boolean (`t`/`f`), or `nil` for NULL or other text.
    public func bool(_ column: String) -> Bool? {
        bool(at: result.columnIndex(column))
    }

    /// The bytes of a `bytea` column (hex text, or binary), or `nil` for NULL or text that is not `bytea` hex.
    public func bytes(_ column: String) -> [UInt8]? {
        bytes(at: result.columnIndex(column))
    }

    /// True if the column at `column` holds SQL NULL.
    public func isNull(at column: Int) -> Bool {
        PQgetisnull(result.handle, Int32(index), Int32(checkedColumn(column))) == 1
    }

    /// The text of the column at `column`, or `nil` for NULL. In a binary result, the text the
    /// text format would have given, for the types ``PostgresResultFormat/binary`` lists; otherwise `nil`.
    public func string(at column: Int) -> String? {
        withValue(at: column) { bytes, binaryType in
            guard let binaryType else { return String(decoding: bytes, as: UTF8.self) }
            return BinaryValue.text(bytes, type: binaryType)
        }
    }

    /// The column at `column` as a 64-bit integer, or `nil` for NULL or non-integer text.
    public func int64(at column: Int) -> Int64? {
        withValue(at: column) { bytes, binaryType in
            guard let binaryType else { return Int64(String(decoding: bytes, as: UTF8.self)) }
            return BinaryValue.integer(bytes, type: binaryType)
        }
    }

    /// The column at `column` as an integer, or `nil` for NULL or non-integer text.
    public func int(at column: Int) -> Int? {
        int64(at: column).flatMap { Int(exactly: $0) }
    }

    /// The column at `column` as a double, or `nil` for NULL or non-numeric text.
    public func double(at column: Int) -> Double? {
        withValue(at: column) { bytes, binaryType in
            guard let binaryType else { return Double(String(decoding: bytes, as: UTF8.self)) }
            return BinaryValue.double(bytes, type: binaryType)
        }
    }

    /// The column at `column` as a boolean (`t`/`f`), or `nil` for NULL or other text.
    public func bool(at column: Int) -> Bool? {
        withValue(at: column) { bytes, binaryType in
            guard let binaryType else {
                switch String(decoding: bytes, as: UTF8.self) {
                case "t": return true
                case "f": return false
                default: return nil
                }
            }
            return BinaryValue.bool(bytes, type: binaryType)
        }
    }

    /// The bytes of the `bytea` column at `column`, or `nil` for NULL or text that is not `bytea` hex.
    /// In a binary result the value is the bytes themselves, copied once and never hex-decoded.
    public func bytes(at column: Int) -> [UInt8]? {
        withValue(at: column) { bytes, binaryType in
            guard let binaryType else { return ByteaHex.decode(bytes) }
            return binaryType == PostgresTypeOID.bytea ? Array(bytes) : nil
        }
    }

    /// Calls `body` with the raw bytes of a non-NULL value (only valid during the call) and, for
    /// a value in binary format, its column's type OID (`nil` for text format).
    private func withValue<T>(at column: Int, _ body: (UnsafeBufferPointer<UInt8>, _ binaryType: UInt32?) -> T?) -> T? {
        let column = Int32(checkedColumn(column))
        let row = Int32(index)
        guard PQgetisnull(result.handle, row, column) == 0, let value = PQgetvalue(result.handle, row, column) else {
            return nil
        }
        let length = Int(PQgetlength(result.handle, row, column))
        let binaryType = PQfformat(result.handle, column) == 1 ? PQftype(result.handle, column) : nil
        return value.withMemoryRebound(to: UInt8.self, capacity: length) {
            body(UnsafeBufferPointer(start: $0, count: length), binaryType)
        }
    }

    private func checkedColumn(_ column: Int) -> Int {
        precondition(column >= 0 && column < result.columnNames.count, "column \(column) is out of range 0..<\(result.columnNames.count)")
        return column
    }
}

/// Decoding of PostgreSQL's `bytea` hex output format (`\x0aff…`), the server default since 9.0.
enum ByteaHex {
    static func decode(_ text: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        guard text.count >= 2, text[0] == UInt8(ascii: "\\"), text[1] == UInt8(ascii: "x"), text.count % 2 == 0 else {
            return nil
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity((text.count - 2) / 2)
        var position = 2
        while position < text.count {
            guard let high = nibble(text[position]), let low = nibble(text[position + 1]) else {
                return nil
            }
            bytes.append(high << 4 | low)
            position += 2
        }
        return bytes
    }

    private static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
