import CJansson
import Glibc

/// Encodes a ``JSONValue`` with jansson's `json_dumps` and copies the text into a Swift array.
///
/// One pass in C: `json_dumpb` would walk the tree twice for a document larger than the first
/// guess at its size, and `json_dump_callback` would call back into Swift for every token.
enum JanssonEncoder {
    /// Compact, 17 significant digits for doubles, object order kept, scalars allowed at top level.
    private static let flags = CJansson_dumpFlags(17) | Int(JSON_PRESERVE_ORDER | JSON_ENCODE_ANY)

    static func encode(_ value: JSONValue) throws(JanssonError) -> [UInt8] {
        let root = try JanssonTreeBuilder.reference(for: value)
        guard let text = json_dumps(root.pointer, flags) else { throw JanssonError(failedCall: "json_dumps") }
        defer { free(text) }
        // The encoding holds no NUL byte (jansson escapes U+0000), so the C string is all of it.
        return Array(UnsafeRawBufferPointer(start: text, count: strlen(text)))
    }
}
