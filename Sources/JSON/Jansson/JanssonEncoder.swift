import CJansson

/// Encodes a ``JSONValue`` with jansson's `json_dump_callback`, appending straight into a Swift array.
///
/// One pass: `json_dumpb` would need two (one to size the buffer), `json_dumps` a malloc'd copy.
enum JanssonEncoder {
    /// Compact, 17 significant digits for doubles, object order kept, scalars allowed at top level.
    private static let flags = CJansson_dumpFlags(17) | Int(JSON_PRESERVE_ORDER | JSON_ENCODE_ANY)

    static func encode(_ value: JSONValue) throws(JanssonError) -> [UInt8] {
        let root = try JanssonTreeBuilder.reference(for: value)
        var bytes: [UInt8] = []
        let status = withUnsafeMutablePointer(to: &bytes) { output in
            json_dump_callback(root.pointer, { chunk, size, output in
                guard let chunk, let output else { return -1 }
                output.assumingMemoryBound(to: [UInt8].self).pointee
                    .append(contentsOf: UnsafeRawBufferPointer(start: chunk, count: size))
                return 0
            }, output, flags)
        }
        try JanssonError.check("json_dump_callback", status)
        return bytes
    }
}
