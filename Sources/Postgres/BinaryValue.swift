/// Decoding of the binary format (``PostgresResultFormat/binary``) of the types ``PostgresRow`` reads.
///
/// Each function takes a non-NULL value's bytes and its column's type OID, and returns `nil`
/// for a type it does not decode, so that a value is never misread as another type.
enum BinaryValue {
    /// `int2`, `int4`, `int8` and `oid`, big-endian (two's complement for the signed ones).
    static func integer(_ bytes: UnsafeBufferPointer<UInt8>, type: UInt32) -> Int64? {
        switch (type, bytes.count) {
        case (PostgresTypeOID.int8, 8): Int64(bitPattern: bigEndian(bytes))
        case (PostgresTypeOID.int4, 4): Int64(Int32(truncatingIfNeeded: bigEndian(bytes)))
        case (PostgresTypeOID.int2, 2): Int64(Int16(truncatingIfNeeded: bigEndian(bytes)))
        case (PostgresTypeOID.oid, 4): Int64(bigEndian(bytes))
        default: nil
        }
    }

    /// `float8` and `float4` (IEEE 754, big-endian), and the integer types.
    static func double(_ bytes: UnsafeBufferPointer<UInt8>, type: UInt32) -> Double? {
        switch (type, bytes.count) {
        case (PostgresTypeOID.float8, 8): Double(bitPattern: bigEndian(bytes))
        case (PostgresTypeOID.float4, 4): Double(Float(bitPattern: UInt32(bigEndian(bytes))))
        default: integer(bytes, type: type).map(Double.init)
        }
    }

    /// `bool`: one byte, 0 or 1.
    static func bool(_ bytes: UnsafeBufferPointer<UInt8>, type: UInt32) -> Bool? {
        guard type == PostgresTypeOID.bool, bytes.count == 1 else { return nil }
        return bytes[0] != 0
    }

    /// The value as the text format would have written it, for the types decoded here:
    /// text-like types are their UTF-8 bytes in both formats.
    static func text(_ bytes: UnsafeBufferPointer<UInt8>, type: UInt32) -> String? {
        switch type {
        case PostgresTypeOID.text, PostgresTypeOID.varchar, PostgresTypeOID.bpchar, PostgresTypeOID.name,
            PostgresTypeOID.json, PostgresTypeOID.unknown:
            return String(decoding: bytes, as: UTF8.self)
        case PostgresTypeOID.bool:
            return bool(bytes, type: type).map { $0 ? "t" : "f" }
        case PostgresTypeOID.bytea:
            return UInt8.postgresText(of: Array(bytes))
        case PostgresTypeOID.float8:
            return double(bytes, type: type)?.postgresText
        case PostgresTypeOID.float4:
            return bytes.count == 4 ? float4Text(Float(bitPattern: UInt32(bigEndian(bytes)))) : nil
        default:
            return integer(bytes, type: type).map { String($0) }
        }
    }

    /// The shortest text that reads back as the same `real`, in PostgreSQL's spelling of the specials.
    private static func float4Text(_ value: Float) -> String {
        if value.isNaN { return "NaN" }
        if value == .infinity { return "Infinity" }
        if value == -.infinity { return "-Infinity" }
        return value.description
    }

    /// An unsigned big-endian integer of up to 8 bytes.
    private static func bigEndian(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        bytes.reduce(0) { $0 << 8 | UInt64($1) }
    }
}
