import ArgumentParser
import JSON
import TaskQueue

/// Reads a custom task type written as `GET /tasktypes` shows one, plus its `id`.
enum TaskTypeDefinition {
    static func parse(_ text: String) throws -> TaskType {
        guard let object = (try? JSONValue.parse(text))?.objectValue else {
            throw ValidationError("the task type must be a JSON object")
        }
        func string(_ key: String) throws -> String {
            guard let value = object[key]?.stringValue, !value.isEmpty else {
                throw ValidationError("the task type needs a non-empty string '\(key)'")
            }
            return value
        }
        func shape(_ key: String) throws -> [ShapeDescriptor] {
            guard let slots = object[key] else { return [] }
            guard let slots = slots.objectValue else { throw ValidationError("'\(key)' must be an object of slots") }
            return try slots.map { slot in
                guard let name = slot.value["name"]?.stringValue, let description = slot.value["description"]?.stringValue,
                    let type = ShapeType.allCases.first(where: { $0.wireName == slot.value["type"]?.stringValue })
                else {
                    throw ValidationError(
                        "'\(key).\(slot.key)' needs 'name', 'description' and 'type' (one of "
                            + ShapeType.allCases.map(\.wireName).joined(separator: ", ") + ")")
                }
                return ShapeDescriptor(key: slot.key, name: name, description: description, type: type)
            }
        }
        func enumValues(_ key: String) throws -> [String: [ShapeEnumValue]] {
            guard let map = object[key] else { return [:] }
            guard let map = map.objectValue else { throw ValidationError("'\(key)' must be an object") }
            var result: [String: [ShapeEnumValue]] = [:]
            for (slot, list) in map {
                result[slot] = try (list.arrayValue ?? []).map { item in
                    guard let name = item["name"]?.stringValue, let value = item["value"]?.stringValue else {
                        throw ValidationError("'\(key).\(slot)' must be a list of {name, value} strings")
                    }
                    return ShapeEnumValue(name: name, value: value)
                }
            }
            return result
        }
        func defaults(_ key: String) throws -> [String: JSONValue] {
            guard let map = object[key] else { return [:] }
            guard let map = map.objectValue else { throw ValidationError("'\(key)' must be an object") }
            return Dictionary(map.map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last })
        }
        let id = try string("id")
        guard id.utf8.count <= 255 else { throw ValidationError("the task type id must be at most 255 bytes") }
        return TaskType(
            id: id, name: try string("name"), description: try string("description"),
            inputShape: try shape("inputShape"), optionalInputShape: try shape("optionalInputShape"),
            outputShape: try shape("outputShape"), optionalOutputShape: try shape("optionalOutputShape"),
            inputShapeEnumValues: try enumValues("inputShapeEnumValues"),
            optionalInputShapeEnumValues: try enumValues("optionalInputShapeEnumValues"),
            outputShapeEnumValues: try enumValues("outputShapeEnumValues"),
            optionalOutputShapeEnumValues: try enumValues("optionalOutputShapeEnumValues"),
            inputShapeDefaults: try defaults("inputShapeDefaults"),
            optionalInputShapeDefaults: try defaults("optionalInputShapeDefaults"))
    }
}
