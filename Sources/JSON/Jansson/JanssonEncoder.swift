import CJansson

/// Encodes a ``JSONValue`` with jansson's `json_dumpb`, straight into a Swift array.
///
/// `json_dumpb` writes into a caller's buffer in C, and says how much it needed: most
/// documents fit the first guess, larger ones are encoded once more at their exact size.
/// (`json_dump_callback` would call back into Swift for every token.)
enum JanssonEncoder {
    /// Compact, 17 significant digits for doubles, object order kept, scalars allowed at top level.
    private static let flags = CJansson_dumpFlags(17) | Int(JSON_PRESERVE_ORDER | JSON_ENCODE_ANY)
    private static let firstGuess = 4096

    static func encode(_ value: JSONValue) throws(JanssonError) -> [UInt8] {
        let root = try JanssonTreeBuilder.reference(for: value)
        var needed = 0
        let bytes = dump(root, capacity: firstGuess, needed: &needed)
        if let bytes { return bytes }
        guard needed > 0, let exact = dump(root, capacity: needed, needed: &needed) else {
            throw JanssonError(failedCall: "json_dumpb")
        }
        return exact
    }

    /// The encoding if it fits `capacity` bytes; else nil, with the size it needs in `needed`
    /// (0 when jansson failed).
    private static func dump(_ root: borrowing JanssonReference, capacity: Int, needed: inout Int) -> [UInt8]? {
        var fits = false
        let bytes = [UInt8](unsafeUninitializedCapacity: capacity) { buffer, count in
            let size = buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: capacity) {
                json_dumpb(root.pointer, $0, capacity, flags)
            }
            needed = size
            fits = size > 0 && size <= capacity
            count = fits ? size : 0
        }
        return fits ? bytes : nil
    }
}
