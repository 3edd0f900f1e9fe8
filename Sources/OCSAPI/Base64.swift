/// Standard base64 (RFC 4648 §4, padded) decoding of credential headers.
///
/// Credentials arrive on every request, so this reads the header's UTF-8 bytes directly
/// instead of going through Foundation's `Data` and `String` conversions.
enum Base64 {
    /// The decoded bytes, or nil unless `text` is padded base64 of the standard alphabet
    /// (a length that is a multiple of 4, at most two `=` at the end).
    static func decode(_ text: Substring) -> [UInt8]? {
        let input = text.utf8
        guard input.count % 4 == 0 else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(input.count / 4 * 3)
        var quad: UInt32 = 0
        var filled = 0
        var padding = 0
        for byte in input {
            if byte == UInt8(ascii: "=") {
                padding += 1
                guard padding <= 2 else { return nil }
                quad <<= 6
            } else {
                guard padding == 0, let sextet = sextet(byte) else { return nil }
                quad = quad << 6 | UInt32(sextet)
            }
            filled += 1
            if filled == 4 {
                output.append(UInt8(truncatingIfNeeded: quad >> 16))
                output.append(UInt8(truncatingIfNeeded: quad >> 8))
                output.append(UInt8(truncatingIfNeeded: quad))
                quad = 0
                filled = 0
            }
        }
        output.removeLast(padding)
        return output
    }

    private static func sextet(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): byte - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): byte - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0") + 52
        case UInt8(ascii: "+"): 62
        case UInt8(ascii: "/"): 63
        default: nil
        }
    }
}
