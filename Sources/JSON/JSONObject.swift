/// An ordered JSON object (keys unique; setting an existing key replaces its value in place).
///
/// Two objects are equal when they have the same members, whatever their order: JSON gives key
/// order no meaning, and stores such as PostgreSQL's `jsonb` do not keep it. Compare ``keys`` to
/// check order.
public struct JSONObject: Sendable, Equatable, Sequence, ExpressibleByDictionaryLiteral {
    /// The keys in order.
    public private(set) var keys: [String]
    /// The values, parallel to `keys`.
    private var values: [JSONValue]
    /// Where each key sits in `keys`, so lookups in a large object do not scan; nil while the
    /// object is small enough that scanning is cheaper than hashing (most objects on the wire).
    private var positions: [String: Int]?

    /// Objects with more members than this keep ``positions``.
    private static let scanLimit = 32

    /// Creates an empty object.
    public init() {
        keys = []
        values = []
        positions = nil
    }

    /// Creates an object with the members in order; a repeated key replaces the earlier value in place.
    public init(_ pairs: [(String, JSONValue)]) {
        self.init()
        keys.reserveCapacity(pairs.count)
        values.reserveCapacity(pairs.count)
        for (key, value) in pairs {
            self[key] = value
        }
    }

    /// Creates an object from a literal; a repeated key replaces the earlier value in place.
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self.init(elements)
    }

    /// Creates an object from keys already known to be unique, skipping the duplicate check.
    init(uniqueKeys keys: [String], values: [JSONValue]) {
        self.keys = keys
        self.values = values
        positions = keys.count > Self.scanLimit ? Dictionary(uniqueKeysWithValues: zip(keys, keys.indices)) : nil
    }

    private func position(of key: String) -> Int? {
        if let positions { return positions[key] }
        return keys.firstIndex(of: key)
    }

    /// The value for `key`; setting `nil` removes the member, setting a value for an existing key keeps its place.
    public subscript(key: String) -> JSONValue? {
        get {
            position(of: key).map { values[$0] }
        }
        set {
            switch (position(of: key), newValue) {
            case (let position?, let value?):
                values[position] = value
            case (let position?, nil):
                remove(at: position)
            case (nil, let value?):
                keys.append(key)
                values.append(value)
                if positions != nil {
                    positions?[key] = keys.count - 1
                } else if keys.count > Self.scanLimit {
                    positions = Dictionary(uniqueKeysWithValues: zip(keys, keys.indices))
                }
            case (nil, nil):
                break
            }
        }
    }

    /// The number of members.
    public var count: Int { keys.count }

    /// Whether there are no members.
    public var isEmpty: Bool { keys.isEmpty }

    private mutating func remove(at position: Int) {
        let key = keys.remove(at: position)
        values.remove(at: position)
        guard positions != nil else { return }
        positions?[key] = nil
        for shifted in keys[position...] {
            positions?[shifted, default: 0] -= 1
        }
    }

    /// Whether both objects have the same members, in any order.
    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.count == rhs.count else { return false }
        return zip(lhs.keys, lhs.values).allSatisfy { key, value in rhs[key] == value }
    }

    /// Iterates over the members in order.
    public func makeIterator() -> Iterator {
        Iterator(keys: keys.makeIterator(), values: values.makeIterator())
    }

    /// Iterates over the members of a ``JSONObject`` in order.
    public struct Iterator: IteratorProtocol {
        fileprivate var keys: IndexingIterator<[String]>
        fileprivate var values: IndexingIterator<[JSONValue]>

        /// The next member, or `nil` after the last.
        public mutating func next() -> (key: String, value: JSONValue)? {
            guard let key = keys.next(), let value = values.next() else { return nil }
            return (key, value)
        }
    }

    /// The number of members, so `Array(object)` allocates once.
    public var underestimatedCount: Int { count }
}
