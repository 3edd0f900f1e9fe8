import CJansson

/// Converts a jansson tree into a ``JSONValue``, refusing arrays and objects nested deeper than `maxDepth`.
///
/// Works with an explicit stack, so hostile nesting never deepens the Swift call stack.
struct JanssonTreeReader {
    let maxDepth: Int

    func value(of root: UnsafeMutablePointer<json_t>) throws(JSONParseError) -> JSONValue {
        var open: [OpenContainer] = []
        var node = root
        descending: while true {
            var finished: JSONValue
            if let container = OpenContainer(node) {
                guard open.count < maxDepth else { throw .tooDeep(limit: maxDepth) }
                open.append(container)
                if let child = open[open.count - 1].nextChild() {
                    node = child
                    continue descending
                }
                finished = open.removeLast().finish()
            } else {
                finished = Self.scalar(node)
            }
            // Hand the value up until some container still has children to read.
            while var parent = open.popLast() {
                parent.values.append(finished)
                if let child = parent.nextChild() {
                    open.append(parent)
                    node = child
                    continue descending
                }
                finished = parent.finish()
            }
            return finished
        }
    }

    private static func scalar(_ node: UnsafeMutablePointer<json_t>) -> JSONValue {
        switch CJansson_typeof(node) {
        case JSON_STRING:
            // Length-based: jansson has already validated the UTF-8.
            .string(String(decoding: UnsafeRawBufferPointer(start: json_string_value(node), count: json_string_length(node)), as: UTF8.self))
        case JSON_INTEGER:
            .int(json_integer_value(node))
        case JSON_REAL:
            .double(json_real_value(node))
        case JSON_TRUE:
            .bool(true)
        case JSON_FALSE:
            .bool(false)
        default:
            .null
        }
    }
}

/// An array or object whose children are being read.
private struct OpenContainer {
    private let node: UnsafeMutablePointer<json_t>
    private let isObject: Bool
    /// Arrays: the index of the next child.
    private var nextIndex = 0
    /// Objects: the next member, `nil` after the last.
    private var nextMember: UnsafeMutableRawPointer?
    /// Objects: the keys read so far, parallel to `values`.
    private var keys: [String] = []
    /// The children converted so far.
    var values: [JSONValue] = []

    /// Starts reading `node`, or returns `nil` when it is a scalar.
    init?(_ node: UnsafeMutablePointer<json_t>) {
        self.node = node
        switch CJansson_typeof(node) {
        case JSON_ARRAY:
            isObject = false
            values.reserveCapacity(json_array_size(node))
        case JSON_OBJECT:
            isObject = true
            nextMember = json_object_iter(node)
            keys.reserveCapacity(json_object_size(node))
            values.reserveCapacity(json_object_size(node))
        default:
            return nil
        }
    }

    /// The next child to convert, or `nil` when all have been read.
    mutating func nextChild() -> UnsafeMutablePointer<json_t>? {
        if isObject {
            guard let member = nextMember, let key = json_object_iter_key(member),
                  let child = json_object_iter_value(member) else { return nil }
            keys.append(String(decoding: UnsafeRawBufferPointer(start: key, count: json_object_iter_key_len(member)), as: UTF8.self))
            nextMember = json_object_iter_next(node, member)
            return child
        }
        guard nextIndex < json_array_size(node), let child = json_array_get(node, nextIndex) else { return nil }
        nextIndex += 1
        return child
    }

    /// The container as a value, once all children have been added.
    consuming func finish() -> JSONValue {
        // jansson objects are hash tables, so their keys are unique even when duplicates were allowed.
        isObject ? .object(JSONObject(uniqueKeys: keys, values: values)) : .array(values)
    }
}
