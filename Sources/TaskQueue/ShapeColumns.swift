import JSON
import Postgres

/// How shape maps are stored (custom task types and providers): shapes as JSON arrays of
/// `{key, name, description, type}` (type by its wire name; arrays keep the slot order), enum
/// values and defaults as JSON objects keyed by slot. Columns are read as text (`::text`).
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

    static func shapes(_ row: PostgresRow, _ column: String, of owner: String) throws(ProviderStoreError) -> [ShapeDescriptor] {
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

    static func enumValues(_ row: PostgresRow, _ column: String, of owner: String) throws(ProviderStoreError) -> [String: [ShapeEnumValue]] {
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

    static func defaults(_ row: PostgresRow, _ column: String, of owner: String) throws(ProviderStoreError) -> [String: JSONValue] {
        guard let object = try json(row, column, of: owner).objectValue else { throw .corruptRow("\(owner): \(column)") }
        return Dictionary(object.map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last })
    }

    private static func json(_ row: PostgresRow, _ column: String, of owner: String) throws(ProviderStoreError) -> JSONValue {
        guard let text = row.string(column), let value = try? JSONValue.parse(text) else {
            throw .corruptRow("\(owner): \(column) is not JSON")
        }
        return value
    }
}

/// The eight columns that hold a `ProviderShapes`: a provider's additions, and the same parts of
/// a custom task type (everything but its input and output shapes).
enum ProviderShapesColumns {
    static let names = [
        "optional_input_shape", "optional_output_shape", "input_shape_enum_values",
        "optional_input_shape_enum_values", "output_shape_enum_values", "optional_output_shape_enum_values",
        "input_shape_defaults", "optional_input_shape_defaults",
    ]

    /// The eight values, serialized, in `names` order.
    static func encode(_ shapes: ProviderShapes) -> [String] {
        [
            ShapeColumns.encode(shapes.optionalInputShape), ShapeColumns.encode(shapes.optionalOutputShape),
            ShapeColumns.encode(shapes.inputShapeEnumValues), ShapeColumns.encode(shapes.optionalInputShapeEnumValues),
            ShapeColumns.encode(shapes.outputShapeEnumValues), ShapeColumns.encode(shapes.optionalOutputShapeEnumValues),
            ShapeColumns.encode(shapes.inputShapeDefaults), ShapeColumns.encode(shapes.optionalInputShapeDefaults),
        ]
    }

    static func decode(_ row: PostgresRow, of owner: String) throws(ProviderStoreError) -> ProviderShapes {
        ProviderShapes(
            optionalInputShape: try ShapeColumns.shapes(row, "optional_input_shape", of: owner),
            optionalOutputShape: try ShapeColumns.shapes(row, "optional_output_shape", of: owner),
            inputShapeEnumValues: try ShapeColumns.enumValues(row, "input_shape_enum_values", of: owner),
            optionalInputShapeEnumValues: try ShapeColumns.enumValues(row, "optional_input_shape_enum_values", of: owner),
            outputShapeEnumValues: try ShapeColumns.enumValues(row, "output_shape_enum_values", of: owner),
            optionalOutputShapeEnumValues: try ShapeColumns.enumValues(row, "optional_output_shape_enum_values", of: owner),
            inputShapeDefaults: try ShapeColumns.defaults(row, "input_shape_defaults", of: owner),
            optionalInputShapeDefaults: try ShapeColumns.defaults(row, "optional_input_shape_defaults", of: owner))
    }
}
