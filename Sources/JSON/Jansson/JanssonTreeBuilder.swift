import CJansson

/// Builds the jansson tree for a ``JSONValue``, so jansson can encode it.
enum JanssonTreeBuilder {
    /// Recursive: values parsed from input are at most `JSONParseOptions.maxDepth` deep.
    static func reference(for value: JSONValue) throws(JanssonError) -> JanssonReference {
        switch value {
        case .null:
            return try JanssonReference(createdBy: "json_null", json_null())
        case .bool(let flag):
            return flag
                ? try JanssonReference(createdBy: "json_true", json_true())
                : try JanssonReference(createdBy: "json_false", json_false())
        case .int(let number):
            return try JanssonReference(createdBy: "json_integer", json_integer(number))
        case .double(let number):
            // JSON has no NaN or infinity and json_real refuses them: they encode as null.
            guard number.isFinite else { return try JanssonReference(createdBy: "json_null", json_null()) }
            return try JanssonReference(createdBy: "json_real", json_real(number))
        case .string(let text):
            // Swift strings are valid UTF-8, so skip jansson's check; the length keeps any U+0000.
            let string = withUTF8Bytes(of: text) { json_stringn_nocheck($0, $1) }
            return try JanssonReference(createdBy: "json_stringn_nocheck", string)
        case .array(let elements):
            let array = try JanssonReference(createdBy: "json_array", json_array())
            for element in elements {
                let child = try reference(for: element)
                try JanssonError.check("json_array_append_new", json_array_append_new(array.pointer, child.transfer()))
            }
            return array
        case .object(let members):
            let object = try JanssonReference(createdBy: "json_object", json_object())
            for (key, member) in members {
                let child = try reference(for: member).transfer()
                // The _new setters take the child even when they fail, so it cannot leak.
                let status = withUTF8Bytes(of: key) { json_object_setn_new_nocheck(object.pointer, $0, $1, child) }
                try JanssonError.check("json_object_setn_new_nocheck", status)
            }
            return object
        }
    }

    /// Calls `body` with the UTF-8 bytes of `text` and their count (U+0000 included, no terminator needed).
    private static func withUTF8Bytes<Result>(of text: String, _ body: (UnsafePointer<CChar>, Int) -> Result) -> Result {
        var text = text
        return text.withUTF8 { bytes in
            // An empty buffer may have no address; jansson needs one anyway.
            guard let base = bytes.baseAddress else { return body("", 0) }
            return base.withMemoryRebound(to: CChar.self, capacity: bytes.count) { body($0, bytes.count) }
        }
    }
}
