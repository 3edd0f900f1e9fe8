import JSON
import Postgres

/// How a custom task type's shapes are stored: shapes as JSON arrays of
/// `{key, name, description, type}` (type by its wire name), enum values and defaults as objects
/// keyed by slot.
enum TaskTypeColumns {
    static let shapeColumns = [
        "input_shape", "optional_input_shape", "output_shape", "optional_output_shape",
        "input_shape_enum_values", "optional_input_shape_enum_values", "output_shape_enum_values",
        "optional_output_shape_enum_values", "input_shape_defaults", "optional_input_shape_defaults",
    ]
    static let all = "id, name, description, " + shapeColumns.map { "\($0)::text AS \($0)" }.joined(separator: ", ")

    /// The ten shape values of `type`, serialized, in `shapeColumns` order.
    static func encodedShapes(_ type: TaskType) -> [String] {
        [
            shapes(type.inputShape), shapes(type.optionalInputShape), shapes(type.outputShape),
            shapes(type.optionalOutputShape), enumValues(type.inputShapeEnumValues),
            enumValues(type.optionalInputShapeEnumValues), enumValues(type.outputShapeEnumValues),
            enumValues(type.optionalOutputShapeEnumValues), defaults(type.inputShapeDefaults),
            defaults(type.optionalInputShapeDefaults),
        ].map { $0.serializedString() }
    }

    static func decode(_ row: PostgresRow) throws(ProviderStoreError) -> TaskType {
        guard let id = row.string("id"), let name = row.string("name"), let description = row.string("description") else {
            throw .corruptRow("custom task type without id, name or description")
        }
        var values: [String: JSONValue] = [:]
        for column in shapeColumns {
            guard let text = row.string(column), let value = try? JSONValue.parse(text) else {
                throw .corruptRow("custom task type \(id): \(column) is not JSON")
            }
            values[column] = value
        }
        func shapeList(_ column: String) throws(ProviderStoreError) -> [ShapeDescriptor] {
            guard let items = values[column]?.arrayValue else { throw .corruptRow("custom task type \(id): \(column)") }
            var result: [ShapeDescriptor] = []
            for item in items {
                guard let key = item["key"]?.stringValue, let name = item["name"]?.stringValue,
                    let description = item["description"]?.stringValue,
                    let type = ShapeType.allCases.first(where: { $0.wireName == item["type"]?.stringValue })
                else { throw .corruptRow("custom task type \(id): a slot of \(column)") }
                result.append(ShapeDescriptor(key: key, name: name, description: description, type: type))
            }
            return result
        }
        func enumMap(_ column: String) throws(ProviderStoreError) -> [String: [ShapeEnumValue]] {
            guard let object = values[column]?.objectValue else { throw .corruptRow("custom task type \(id): \(column)") }
            var result: [String: [ShapeEnumValue]] = [:]
            for (key, list) in object {
                result[key] = (list.arrayValue ?? []).compactMap { item in
                    guard let name = item["name"]?.stringValue, let value = item["value"]?.stringValue else { return nil }
                    return ShapeEnumValue(name: name, value: value)
                }
            }
            return result
        }
        func defaultMap(_ column: String) throws(ProviderStoreError) -> [String: JSONValue] {
            guard let object = values[column]?.objectValue else { throw .corruptRow("custom task type \(id): \(column)") }
            return Dictionary(uniqueKeysWithValues: object.map { ($0.key, $0.value) })
        }
        return TaskType(
            id: id, name: name, description: description,
            inputShape: try shapeList("input_shape"), optionalInputShape: try shapeList("optional_input_shape"),
            outputShape: try shapeList("output_shape"), optionalOutputShape: try shapeList("optional_output_shape"),
            inputShapeEnumValues: try enumMap("input_shape_enum_values"),
            optionalInputShapeEnumValues: try enumMap("optional_input_shape_enum_values"),
            outputShapeEnumValues: try enumMap("output_shape_enum_values"),
            optionalOutputShapeEnumValues: try enumMap("optional_output_shape_enum_values"),
            inputShapeDefaults: try defaultMap("input_shape_defaults"),
            optionalInputShapeDefaults: try defaultMap("optional_input_shape_defaults"))
    }

    private static func shapes(_ descriptors: [ShapeDescriptor]) -> JSONValue {
        .array(descriptors.map { descriptor in
            [
                "key": .string(descriptor.key), "name": .string(descriptor.name),
                "description": .string(descriptor.description), "type": .string(descriptor.type.wireName),
            ]
        })
    }

    private static func enumValues(_ values: [String: [ShapeEnumValue]]) -> JSONValue {
        .object(JSONObject(values.keys.sorted().map { key in
            (key, .array((values[key] ?? []).map { ["name": .string($0.name), "value": .string($0.value)] }))
        }))
    }

    private static func defaults(_ values: [String: JSONValue]) -> JSONValue {
        .object(JSONObject(values.keys.sorted().map { key in (key, values[key] ?? .null) }))
    }
}
