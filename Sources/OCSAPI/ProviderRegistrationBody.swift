import JSON
import TaskQueue

/// The body of an AppAPI provider registration, as nc_py_api sends it:
/// `{"provider": {"id", "name", "task_type", "expected_runtime", optional slots, enum values,
/// defaults}, "customTaskType"?: {"id", "name", "description", "input_shape", "output_shape"}}`.
/// Every member is checked; a bad one is a 400 naming it by its path in the body.
enum ProviderRegistrationBody {
    static let maxIdentifierLength = 255
    static let maxTextLength = 4096
    static let maxSlots = 100
    static let maxEnumValues = 1000

    /// The provider (owned by `appID`) and the custom type it brings, if any.
    static func parse(
        _ parameters: RequestParameters, appID: String, core: TaskTypeCatalog
    ) throws(OCSError) -> (TaskProvider, TaskType?) {
        let fields = RequestParameters(members(try parameters.requiredObject("provider")))
        let provider = TaskProvider(
            id: try identifier(fields, "id", in: "provider"), appID: appID,
            displayName: try text(fields, "name", in: "provider"),
            taskType: try identifier(fields, "task_type", in: "provider"),
            expectedRuntimeSeconds: try expectedRuntime(fields), shapes: try providerShapes(fields))
        guard let object = try parameters.object("customTaskType") else { return (provider, nil) }
        let custom = try customType(RequestParameters(members(object)), core: core)
        guard custom.id == provider.taskType else {
            throw .badRequest("parameter 'customTaskType.id' must equal 'provider.task_type' ('\(provider.taskType)')")
        }
        return (provider, custom)
    }

    /// nc_py_api's `TaskType`: `id`, `name`, `description`, and `input_shape` / `output_shape`
    /// as lists of `{name, description, shape_type}`; a slot's key is its name, as in AppAPI.
    private static func customType(_ fields: RequestParameters, core: TaskTypeCatalog) throws(OCSError) -> TaskType {
        let id = try identifier(fields, "id", in: "customTaskType")
        if core[id] != nil {
            throw .badRequest("parameter 'customTaskType.id' is the core task type '\(id)'; choose another id")
        }
        return TaskType(
            id: id, name: try text(fields, "name", in: "customTaskType"),
            description: try text(fields, "description", in: "customTaskType"),
            inputShape: try shape(fields, "input_shape", in: "customTaskType"),
            outputShape: try shape(fields, "output_shape", in: "customTaskType"))
    }

    /// What the provider adds to its type (nc_py_api's `TaskProcessingProvider` fields).
    private static func providerShapes(_ fields: RequestParameters) throws(OCSError) -> ProviderShapes {
        ProviderShapes(
            optionalInputShape: try shape(fields, "optional_input_shape", in: "provider"),
            optionalOutputShape: try shape(fields, "optional_output_shape", in: "provider"),
            inputShapeEnumValues: try enumValues(fields, "input_shape_enum_values"),
            optionalInputShapeEnumValues: try enumValues(fields, "optional_input_shape_enum_values"),
            outputShapeEnumValues: try enumValues(fields, "output_shape_enum_values"),
            optionalOutputShapeEnumValues: try enumValues(fields, "optional_output_shape_enum_values"),
            inputShapeDefaults: try defaults(fields, "input_shape_defaults"),
            optionalInputShapeDefaults: try defaults(fields, "optional_input_shape_defaults"))
    }

    /// `{slot: [{name, value}]}`.
    private static func enumValues(_ fields: RequestParameters, _ name: String) throws(OCSError) -> [String: [ShapeEnumValue]] {
        guard let value = fields[name] else { return [:] }
        let what = "provider.\(name)"
        guard let object = value.objectValue, object.count <= maxSlots else {
            throw .badRequest("parameter '\(what)' must be an object of at most \(maxSlots) slots, each a list of {name, value}")
        }
        var result: [String: [ShapeEnumValue]] = [:]
        for (slot, list) in object {
            guard let items = list.arrayValue, items.count <= maxEnumValues else {
                throw .badRequest("parameter '\(what).\(slot)' must be a list of at most \(maxEnumValues) {name, value}")
            }
            var values: [ShapeEnumValue] = []
            for item in items {
                guard let name = item["name"]?.stringValue, let value = item["value"]?.stringValue,
                    name.utf8.count <= maxTextLength, value.utf8.count <= maxTextLength
                else { throw .badRequest("parameter '\(what).\(slot)' must hold objects with string 'name' and 'value'") }
                values.append(ShapeEnumValue(name: name, value: value))
            }
            result[slot] = values
        }
        return result
    }

    /// `{slot: string | number}`.
    private static func defaults(_ fields: RequestParameters, _ name: String) throws(OCSError) -> [String: JSONValue] {
        guard let value = fields[name] else { return [:] }
        let what = "provider.\(name)"
        guard let object = value.objectValue, object.count <= maxSlots else {
            throw .badRequest("parameter '\(what)' must be an object of at most \(maxSlots) slots")
        }
        var result: [String: JSONValue] = [:]
        for (slot, value) in object {
            switch value {
            case .string(let text) where text.utf8.count <= maxTextLength: result[slot] = value
            case .int, .double: result[slot] = value
            default: throw .badRequest("parameter '\(what).\(slot)' must be a string or a number")
            }
        }
        return result
    }

    private static func shape(_ fields: RequestParameters, _ name: String, in parent: String) throws(OCSError) -> [ShapeDescriptor] {
        guard let value = fields[name] else { return [] }
        guard let list = value.arrayValue, list.count <= maxSlots else {
            throw .badRequest("parameter '\(parent).\(name)' must be a list of at most \(maxSlots) slots")
        }
        var items: [[String: JSONValue]] = []
        for (index, item) in list.enumerated() {
            guard let object = item.objectValue else { throw .badRequest("parameter '\(parent).\(name)[\(index)]' must be an object") }
            items.append(members(object))
        }
        var seen = Set<String>()
        var descriptors: [ShapeDescriptor] = []
        for (index, item) in items.enumerated() {
            let slot = RequestParameters(item)
            let what = "\(parent).\(name)[\(index)]"
            let key = try identifier(slot, "name", in: what)
            guard seen.insert(key).inserted else { throw .badRequest("parameter '\(what).name': '\(key)' appears twice") }
            guard let code = slot["shape_type"]?.int64Value, let type = ShapeType(rawValue: Int(code)) else {
                throw .badRequest(
                    "parameter '\(what).shape_type' must be one of \(ShapeType.allCases.map { String($0.rawValue) }.joined(separator: ", "))")
            }
            descriptors.append(
                ShapeDescriptor(key: key, name: key, description: try text(slot, "description", in: what), type: type))
        }
        return descriptors
    }

    private static func expectedRuntime(_ fields: RequestParameters) throws(OCSError) -> Int {
        let range = ParameterRanges.expectedRuntime
        do throws(OCSError) { return try fields.int("expected_runtime", in: range) ?? 0 } catch {
            throw .badRequest(
                "parameter 'provider.expected_runtime' must be a whole number of seconds between \(range.lowerBound) and \(range.upperBound)")
        }
    }

    /// A required id-like string: 1 to 255 bytes, no control characters.
    private static func identifier(_ fields: RequestParameters, _ name: String, in parent: String) throws(OCSError) -> String {
        let value = try text(fields, name, in: parent)
        guard value.utf8.count <= maxIdentifierLength, value.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F }) else {
            throw .badRequest("parameter '\(parent).\(name)' must be 1 to \(maxIdentifierLength) printable bytes")
        }
        return value
    }

    /// A required non-empty string of reasonable length.
    private static func text(_ fields: RequestParameters, _ name: String, in parent: String) throws(OCSError) -> String {
        let value: String?
        do throws(OCSError) { value = try fields.string(name) } catch {
            throw .badRequest("parameter '\(parent).\(name)' must be a string")
        }
        guard let value, !value.isEmpty else { throw .badRequest("missing required parameter '\(parent).\(name)'") }
        guard value.utf8.count <= maxTextLength else {
            throw .badRequest("parameter '\(parent).\(name)' must be at most \(maxTextLength) bytes")
        }
        return value
    }
}

/// An object's members as parameters' input (a repeated key keeps its last value, as in a body).
private func members(_ object: JSONObject) -> [String: JSONValue] {
    Dictionary(object.map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last })
}
