import JSON
import Postgres

/// How shape maps are stored (custom task types and providers): shapes as JSON arrays of
/// `{key, name, description, type}` (type by its wire name; arrays keep the slot order), enum
/// values and defaults as JSON objects keyed by slot, all in text columns (the server's own
/// serialization, which its parser reads back unchanged).
enum ShapeColumns {
    static func encode(_ descriptors: [ShapeDescriptor]) -> String {
        JSONValue.array(descriptors.map { descriptor in
            [
                "key": .string(descriptor.key), "name": .string(descriptor.name),
                "description": .string(descriptor.description), "type": .string(descriptor.type.wireName),
            ]
        }).serializedString()
    }

    static func encode(_ values: [String: [ShapeEnumValue]]) -> String {
        JSONValue.object(JSONObject(values.keys.sorted().map { key in
            (key, .array((values[key] ?? []).map { ["name": .string($0.name), "value": .string($0.value)] }))
        })).serializedString()
    }

    static func encode(_ defaults: [String: JSONValue]) -> String {
        JSONValue.object(JSONObject(defaults.keys.sorted().map { key in (key, defaults[key] ?? .null) })).serializedString()
    }

    static func shapes(_ row: PostgresRow, _ column: String, of owner: String) throws(StoreError) -> [ShapeDescriptor] {
        guard let items = try json(row, column, of: owner).arrayValue else { throw .corruptRow("\(owner): \(column) is not a list") }
        var result: [ShapeDescriptor] = []
        for item in items {
            guard let key = item["key"]?.stringValue, let name = item["name"]?.stringValue,
                let description = item["description"]?.stringValue,
                let type = ShapeType.allCases.first(where: { $0.wireName == item["type"]?.stringValue })
            else { throw .corruptRow("\(owner): a slot of \(column)") }
            result.append(ShapeDescriptor(key: key, name: name, description: description, type: type))
        }
        return result
    }

    static func enumValues(_ row: PostgresRow, _ column: String, of owner: String) throws(StoreError) -> [String: [ShapeEnumValue]] {
        guard let object = try json(row, column, of: owner).objectValue else { throw .corruptRow("\(owner): \(column)") }
        var result: [String: [ShapeEnumValue]] = [:]
        for (key, list) in object {
            result[key] = (list.arrayValue ?? []).compactMap { item in
                guard let name = item["name"]?.stringValue, let value = item["value"]?.stringValue else { return nil }
                return ShapeEnumValue(name: name, value: value)
            }
        }
        return result
    }

    static func defaults(_ row: PostgresRow, _ column: String, of owner: String) throws(StoreError) -> [String: JSONValue] {
        guard let object = try json(row, column, of: owner).objectValue else { throw .corruptRow("\(owner): \(column)") }
        return Dictionary(object.map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last })
    }

    private static func json(_ row: PostgresRow, _ column: String, of owner: String) throws(StoreError) -> JSONValue {
        guard let text = row.string(column), let value = try? JSONValue.parse(text) else {
            throw .corruptRow("\(owner): \(column) is not JSON")
        }
        return value
    }
}
