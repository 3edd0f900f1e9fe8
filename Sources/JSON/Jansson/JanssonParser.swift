import CJansson

/// Parses bytes with `json_loadb` and converts the result, mapping jansson's errors to ``JSONParseError``.
enum JanssonParser {
    static func parse(_ bytes: UnsafeBufferPointer<UInt8>, options: JSONParseOptions) throws(JSONParseError) -> JSONValue {
        // jansson's "unexpected token near end of file" is unhelpful for a missing body.
        guard let base = bytes.baseAddress, bytes.contains(where: { !isWhitespace($0) }) else {
            throw .empty
        }
        let maxDepth = max(0, options.maxDepth)
        var flags = JSON_DECODE_ANY
        if options.rejectDuplicateKeys {
            flags |= JSON_REJECT_DUPLICATES
        }
        var error = json_error_t()
        let loaded = base.withMemoryRebound(to: CChar.self, capacity: bytes.count) {
            json_loadb($0, bytes.count, Int(flags), &error)
        }
        guard let loaded else {
            throw parseError(from: error, maxDepth: maxDepth)
        }
        let root = JanssonReference(adopting: loaded)
        return try JanssonTreeReader(maxDepth: maxDepth).value(of: root.pointer)
    }

    /// JSON whitespace (RFC 8259): space, tab, line feed, carriage return.
    private static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }

    private static func parseError(from error: json_error_t, maxDepth: Int) -> JSONParseError {
        var error = error
        if json_error_code(&error) == json_error_stack_overflow {
            // jansson's own nesting limit: report the tighter of the two limits.
            return .tooDeep(limit: min(maxDepth, Int(JSON_PARSER_MAX_DEPTH)))
        }
        return .syntax(
            message: message(of: error),
            line: Int(error.line),
            column: Int(error.column),
            position: Int(error.position)
        )
    }

    /// The NUL-terminated text of `error`; its last byte holds the error code, not text.
    private static func message(of error: json_error_t) -> String {
        withUnsafeBytes(of: error.text) { text in
            let usable = text.prefix(Int(JSON_ERROR_TEXT_LENGTH) - 1)
            let length = usable.firstIndex(of: 0) ?? usable.count
            // jansson may quote the offending input, which need not be valid UTF-8.
            return String(decoding: usable.prefix(length), as: UTF8.self)
        }
    }
}
