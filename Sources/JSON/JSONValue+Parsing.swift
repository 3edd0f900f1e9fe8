extension JSONValue {
    /// Parses one JSON document (any value at top level) from UTF-8 bytes.
    ///
    /// Refuses invalid UTF-8, `\u0000` inside strings and keys, integers beyond `Int64`,
    /// trailing garbage and, per `options`, duplicate keys and deep nesting.
    public static func parse(_ bytes: [UInt8], options: JSONParseOptions = .default) throws(JSONParseError) -> JSONValue {
        try bytes.withUnsafeBufferPointer { buffer throws(JSONParseError) in
            try JanssonParser.parse(buffer, options: options)
        }
    }

    /// Parses one JSON document (any value at top level) from text.
    public static func parse(_ text: String, options: JSONParseOptions = .default) throws(JSONParseError) -> JSONValue {
        var text = text
        // withUTF8 does not forward typed errors, so carry the outcome out as a Result.
        let outcome = text.withUTF8 { buffer in
            Result { () throws(JSONParseError) in try JanssonParser.parse(buffer, options: options) }
        }
        return try outcome.get()
    }
}
