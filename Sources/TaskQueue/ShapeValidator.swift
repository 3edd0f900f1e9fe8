import JSON

/// Why an input or output does not fit its task type's shapes. The description names the key
/// and what was expected, and is what the client (or the failed task's error message) reads.
public enum ShapeViolation: Error, Sendable, Equatable, CustomStringConvertible {
    /// A mandatory key is absent (or `null`) and has no default.
    case missing(side: ShapeSide, key: String, expected: ShapeType)
    /// A value is not of its slot's shape type; `found` says what it was instead.
    case wrongType(side: ShapeSide, key: String, expected: ShapeType, found: String)
    /// An `Enum` value is not one of the values the type defines for the key.
    case notInEnum(side: ShapeSide, key: String, allowed: [String])

    public var description: String {
        switch self {
        case .missing(let side, let key, let expected):
            "missing \(side) key '\(key)' (\(expected.wireName): \(expected.expectation))"
        case .wrongType(let side, let key, let expected, let found):
            "\(side) key '\(key)' must be \(expected.wireName) (\(expected.expectation)), got \(found)"
        case .notInEnum(let side, let key, let allowed):
            "\(side) key '\(key)' must be one of \(allowed.map { "'\($0)'" }.joined(separator: ", "))"
        }
    }
}

/// Which side of a task a shape describes.
public enum ShapeSide: String, Sendable, Equatable, CustomStringConvertible {
    case input
    case output

    public var description: String { rawValue }
}

/// Checks task inputs and outputs against a `TaskType`'s shapes, as Nextcloud's manager does:
/// mandatory keys present, every value of its slot's shape type (optional keys only when
/// present), enum values among the defined ones, defaults filled in, unknown keys dropped.
/// Pure: no I/O, so file-typed slots are checked for the form of a file id only.
public enum ShapeValidator {
    /// The input to store: `input` checked against the type's input shapes, with the defaults
    /// of missing keys filled in and keys the type does not define dropped. The values of
    /// `deferred` keys (references to other tasks' outputs) are kept as they are, unchecked:
    /// they are checked when they are replaced.
    public static func validateInput(
        _ input: JSONObject, for type: TaskType, deferring deferred: Set<String> = []
    ) throws(ShapeViolation) -> JSONObject {
        try validate(
            input, side: .input,
            mandatory: type.inputShape, optional: type.optionalInputShape,
            enumValues: type.inputShapeEnumValues, optionalEnumValues: type.optionalInputShapeEnumValues,
            defaults: type.inputShapeDefaults, optionalDefaults: type.optionalInputShapeDefaults, deferred: deferred)
    }

    /// The output to store: `output` checked against the type's output shapes, unknown keys
    /// dropped. Outputs have no defaults.
    public static func validateOutput(_ output: JSONObject, for type: TaskType) throws(ShapeViolation) -> JSONObject {
        try validate(
            output, side: .output,
            mandatory: type.outputShape, optional: type.optionalOutputShape,
            enumValues: type.outputShapeEnumValues, optionalEnumValues: type.optionalOutputShapeEnumValues,
            defaults: [:], optionalDefaults: [:], deferred: [])
    }

    /// An intermediate output to store while the task runs: the keys it has checked as in
    /// `validateOutput`, unknown keys dropped, but no key is required yet.
    public static func validatePartialOutput(_ output: JSONObject, for type: TaskType) throws(ShapeViolation) -> JSONObject {
        try validate(
            output, side: .output,
            mandatory: [], optional: type.outputShape + type.optionalOutputShape,
            enumValues: [:], optionalEnumValues: type.outputShapeEnumValues.merging(type.optionalOutputShapeEnumValues) { first, _ in first },
            defaults: [:], optionalDefaults: [:], deferred: [])
    }

    // The parameters mirror the type's maps, so each side passes its own.
    private static func validate(
        _ object: JSONObject, side: ShapeSide,
        mandatory: [ShapeDescriptor], optional: [ShapeDescriptor],
        enumValues: [String: [ShapeEnumValue]], optionalEnumValues: [String: [ShapeEnumValue]],
        defaults: [String: JSONValue], optionalDefaults: [String: JSONValue], deferred: Set<String>
    ) throws(ShapeViolation) -> JSONObject {
        var result = JSONObject()
        for (slots, isMandatory, allowed, slotDefaults) in [
            (mandatory, true, enumValues, defaults), (optional, false, optionalEnumValues, optionalDefaults),
        ] {
            for slot in slots {
                // `null` counts as absent, as PHP's isset() makes it in Nextcloud.
                if deferred.contains(slot.key), let value = object[slot.key] {
                    result[slot.key] = value
                    continue
                }
                guard let value = object[slot.key], !value.isNull else {
                    if let fallback = slotDefaults[slot.key] {
                        result[slot.key] = fallback
                    } else if isMandatory {
                        throw .missing(side: side, key: slot.key, expected: slot.type)
                    }
                    continue
                }
                if let found = mismatch(value, slot.type) {
                    throw .wrongType(side: side, key: slot.key, expected: slot.type, found: found)
                }
                if slot.type == .enum, let values = allowed[slot.key], !values.isEmpty,
                    let text = value.stringValue, !values.contains(where: { $0.value == text })
                {
                    throw .notInEnum(side: side, key: slot.key, allowed: values.map(\.value))
                }
                result[slot.key] = value
            }
        }
        return result
    }

    /// The file ids held by the file slots (Image, Audio, Video, File and their lists) of a
    /// validated input or output, in slot order; repeated ids are kept.
    public static func fileIDs(in object: JSONObject, side: ShapeSide, for type: TaskType) -> [Int64] {
        let slots =
            side == .input
            ? type.inputShape + type.optionalInputShape : type.outputShape + type.optionalOutputShape
        var ids: [Int64] = []
        for slot in slots where slot.type.holdsFiles {
            guard let value = object[slot.key] else { continue }
            if let id = value.int64Value {
                ids.append(id)
            } else if let items = value.arrayValue {
                ids.append(contentsOf: items.compactMap(\.int64Value))
            }
        }
        return ids
    }

    /// What `value` is instead when it does not fit `type`; nil when it fits.
    static func mismatch(_ value: JSONValue, _ type: ShapeType) -> String? {
        guard let element = type.elementType else {
            return fits(value, type) ? nil : kind(of: value)
        }
        guard let items = value.arrayValue else { return kind(of: value) }
        for (index, item) in items.enumerated() where !fits(item, element) {
            return "\(kind(of: item)) at index \(index)"
        }
        return nil
    }

    private static func fits(_ value: JSONValue, _ type: ShapeType) -> Bool {
        switch type {
        case .number:
            return value.doubleValue != nil
        case .text, .enum:
            return value.stringValue != nil
        case .image, .audio, .video, .file:
            // A file id. Whether the file exists and may be used is the store's check
            // (`fileIDs(in:side:for:)` lists the ids to check).
            guard let id = value.int64Value else { return false }
            return id > 0
        case .listOfNumbers, .listOfTexts, .listOfImages, .listOfAudios, .listOfVideos, .listOfFiles:
            return false
        }
    }

    private static func kind(of value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .bool: "a boolean"
        case .int(let number) where number <= 0: "the integer \(number)"
        case .int: "an integer"
        case .double: "a non-integer number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

extension ShapeType {
    /// The element type of a list type; nil for scalar types.
    public var elementType: ShapeType? {
        switch self {
        case .listOfNumbers: .number
        case .listOfTexts: .text
        case .listOfImages: .image
        case .listOfAudios: .audio
        case .listOfVideos: .video
        case .listOfFiles: .file
        default: nil
        }
    }

    /// Whether values of this type are file ids (or lists of them).
    public var holdsFiles: Bool {
        switch elementType ?? self {
        case .image, .audio, .video, .file: true
        default: false
        }
    }

    /// What a value of this type looks like in JSON, for error messages.
    var expectation: String {
        switch self {
        case .number: "a JSON number"
        case .text: "a string"
        case .enum: "a string"
        case .image, .audio, .video, .file: "a file id, a positive integer"
        case .listOfNumbers: "an array of JSON numbers"
        case .listOfTexts: "an array of strings"
        case .listOfImages, .listOfAudios, .listOfVideos, .listOfFiles: "an array of file ids, positive integers"
        }
    }
}
