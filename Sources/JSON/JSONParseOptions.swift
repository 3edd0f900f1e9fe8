/// Limits applied when parsing untrusted input.
public struct JSONParseOptions: Sendable {
    /// How many arrays and objects may be nested inside each other; deeper documents are refused.
    ///
    /// A scalar document has depth 0, `[]` depth 1, `[{}]` depth 2. jansson itself refuses documents
    /// nested deeper than its compiled-in limit (2048), whatever this says.
    public var maxDepth: Int

    /// Whether an object naming the same key twice is refused. When `false`, the last value wins.
    public var rejectDuplicateKeys: Bool

    /// Creates parse options.
    public init(maxDepth: Int = 64, rejectDuplicateKeys: Bool = true) {
        self.maxDepth = maxDepth
        self.rejectDuplicateKeys = rejectDuplicateKeys
    }

    /// Depth limit 64, duplicate keys refused.
    public static let `default` = JSONParseOptions()
}
