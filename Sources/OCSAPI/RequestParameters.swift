import JSON
import MicroHTTP

/// The parameters of a request, merged from the query string and the body, as Nextcloud reads
/// them: a JSON body (also on GET, as nc_py_api sends it) or a form body; body values win over
/// query values of the same name. Query arrays use `name[]=a&name[]=b`.
public struct RequestParameters: Sendable {
    private var values: [String: JSONValue] = [:]

    /// Parses the query and body of `request`. Throws a 400 for a body that is not a JSON object
    /// or a valid form, or a query or form holding a NUL character, and a 415 for any other content type.
    public init(request: HTTPRequest, jsonOptions: JSONParseOptions = .default) throws(OCSError) {
        for (name, value) in request.head.query {
            // PostgreSQL text cannot hold NUL; refused here, it would otherwise reach the store as a 500.
            guard !name.utf8.contains(0), !value.utf8.contains(0) else {
                throw .badRequest("the query contains a NUL character (%00), which no parameter may hold")
            }
            add(name: name, value: value)
        }
        guard !request.body.isEmpty else { return }
        let contentType = (request.head.headers["Content-Type"] ?? "").lowercased()
        if contentType.hasPrefix("application/x-www-form-urlencoded") {
            try parseForm(request.body)
        } else if contentType.isEmpty || contentType.hasPrefix("application/json") || contentType.hasSuffix("+json") {
            let document: JSONValue
            do {
                document = try JSONValue.parse(request.body, options: jsonOptions)
            } catch {
                throw .badRequest("the request body is not valid JSON: \(error)")
            }
            guard let object = document.objectValue else {
                throw .badRequest("the request body must be a JSON object")
            }
            for (name, value) in object { values[name] = value }
        } else {
            throw OCSError(status: 415, message: "unsupported Content-Type '\(contentType)': send application/json or a form")
        }
    }

    /// Builds parameters directly (tests).
    public init(_ values: [String: JSONValue]) {
        self.values = values
    }

    private mutating func add(name: String, value: String) {
        if name.hasSuffix("[]") {
            let key = String(name.dropLast(2))
            var list = values[key]?.arrayValue ?? []
            list.append(.string(value))
            values[key] = .array(list)
        } else {
            values[name] = .string(value)
        }
    }

    private mutating func parseForm(_ body: [UInt8]) throws(OCSError) {
        for pair in body.split(separator: UInt8(ascii: "&")) where !pair.isEmpty {
            let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = Self.formDecode(parts[0]), let value = Self.formDecode(parts.count > 1 ? parts[1] : [])
            else { throw .badRequest("the form body is not valid percent-encoded UTF-8") }
            guard !name.utf8.contains(0), !value.utf8.contains(0) else {
                throw .badRequest("the form body contains a NUL character (%00), which no parameter may hold")
            }
            add(name: name, value: value)
        }
    }

    /// Decodes `+` and `%XX` and validates UTF-8.
    static func formDecode(_ bytes: ArraySlice<UInt8>) -> String? {
        var decoded: [UInt8] = []
        decoded.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte == UInt8(ascii: "+") {
                decoded.append(UInt8(ascii: " "))
            } else if byte == UInt8(ascii: "%") {
                guard index + 2 < bytes.endIndex, let high = hexValue(bytes[index + 1]), let low = hexValue(bytes[index + 2])
                else { return nil }
                decoded.append(high << 4 | low)
                index += 2
            } else {
                decoded.append(byte)
            }
            index += 1
        }
        return String(validating: decoded, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    // MARK: Typed access. Each throws a 400 naming the parameter and what it must be.

    /// Refuses (400, naming them) parameters outside `known`. `format` is always allowed: OCS
    /// clients add `format=json`.
    public func refuseUnknown(_ known: Set<String>) throws(OCSError) {
        let unknown = values.keys.filter { !known.contains($0) && $0 != "format" }.sorted()
        guard unknown.isEmpty else {
            throw .badRequest("unknown parameter\(unknown.count == 1 ? "" : "s") \(unknown.map { "'\($0)'" }.joined(separator: ", ")); "
                + "known here: \(known.sorted().joined(separator: ", "))")
        }
    }

    /// The raw value; JSON `null` counts as absent.
    public subscript(name: String) -> JSONValue? {
        guard let value = values[name], !value.isNull else { return nil }
        return value
    }

    public func requiredString(_ name: String) throws(OCSError) -> String {
        guard let value = try string(name) else { throw .badRequest("missing required parameter '\(name)'") }
        return value
    }

    public func string(_ name: String) throws(OCSError) -> String? {
        guard let value = self[name] else { return nil }
        guard let string = value.stringValue else { throw .badRequest("parameter '\(name)' must be a string") }
        return string
    }

    public func requiredObject(_ name: String) throws(OCSError) -> JSONObject {
        guard let value = self[name] else { throw .badRequest("missing required parameter '\(name)'") }
        guard let object = value.objectValue else { throw .badRequest("parameter '\(name)' must be a JSON object") }
        return object
    }

    public func object(_ name: String) throws(OCSError) -> JSONObject? {
        guard self[name] != nil else { return nil }
        return try requiredObject(name)
    }

    /// A list of strings: a JSON array of strings, repeated `name[]` query items, or one string.
    public func stringList(_ name: String) throws(OCSError) -> [String] {
        guard let value = self[name] else { return [] }
        if let single = value.stringValue { return [single] }
        guard let list = value.arrayValue else { throw .badRequest("parameter '\(name)' must be a list of strings") }
        var strings: [String] = []
        for item in list {
            guard let string = item.stringValue else {
                throw .badRequest("parameter '\(name)' must be a list of strings")
            }
            strings.append(string)
        }
        return strings
    }

    /// A finite number: a JSON number, or a decimal string from the query or a form.
    public func double(_ name: String) throws(OCSError) -> Double? {
        guard let value = self[name] else { return nil }
        let number = value.doubleValue ?? value.stringValue.flatMap { Double($0) }
        guard let number, number.isFinite else { throw .badRequest("parameter '\(name)' must be a number") }
        return number
    }

    /// A required JSON array of 1 to `limit` objects (batch calls).
    public func objectList(_ name: String, limit: Int) throws(OCSError) -> [[String: JSONValue]] {
        guard let value = self[name] else { throw .badRequest("missing required parameter '\(name)'") }
        guard let list = value.arrayValue else { throw .badRequest("parameter '\(name)' must be a list of objects") }
        guard (1...limit).contains(list.count) else {
            throw .badRequest("parameter '\(name)' must hold 1 to \(limit) items, got \(list.count)")
        }
        var objects: [[String: JSONValue]] = []
        for (index, item) in list.enumerated() {
            guard let object = item.objectValue else { throw .badRequest("\(name)[\(index)] must be an object") }
            objects.append(Dictionary(object.map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last }))
        }
        return objects
    }

    /// A whole number within `range`: a JSON integer, or a decimal string from the query or a
    /// form. Every integer parameter has a range, checked here, so that no value the database
    /// cannot hold (or a rule would refuse) gets past parsing.
    public func int(_ name: String, in range: ClosedRange<Int>) throws(OCSError) -> Int? {
        guard let value = self[name] else { return nil }
        let outOfRange = OCSError.badRequest(
            "parameter '\(name)' must be an integer between \(range.lowerBound) and \(range.upperBound)")
        if let number = value.int64Value.map(Int.init) ?? value.stringValue.flatMap({ Int($0) }) {
            guard range.contains(number) else { throw outOfRange }
            return number
        }
        // A decimal string too long for 64 bits is still an integer, just out of range.
        if let text = value.stringValue, Self.isDecimalInteger(text) { throw outOfRange }
        throw .badRequest("parameter '\(name)' must be an integer")
    }

    private static func isDecimalInteger(_ text: String) -> Bool {
        let digits = text.utf8.drop { $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "+") }
        return !digits.isEmpty && text.utf8.count - digits.count <= 1
            && digits.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }

    /// A boolean: JSON true/false, or "true"/"false"/"1"/"0" from the query or a form.
    public func bool(_ name: String) throws(OCSError) -> Bool? {
        guard let value = self[name] else { return nil }
        if let bool = value.boolValue { return bool }
        switch value.stringValue?.lowercased() {
        case "true", "1": return true
        case "false", "0": return false
        default: throw .badRequest("parameter '\(name)' must be a boolean")
        }
    }
}
