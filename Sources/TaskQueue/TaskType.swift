import JSON

/// The kind of value a shape slot holds. Raw values are nc_py_api's numeric codes.
public enum ShapeType: Int, Sendable, CaseIterable {
    case number = 0
    case text = 1
    case image = 2
    case audio = 3
    case video = 4
    case file = 5
    case `enum` = 6
    case listOfNumbers = 10
    case listOfTexts = 11
    case listOfImages = 12
    case listOfAudios = 13
    case listOfVideos = 14
    case listOfFiles = 15

    /// The name Nextcloud puts in `TaskType` JSON, e.g. `ListOfTexts`.
    public var wireName: String {
        switch self {
        case .number: "Number"
        case .text: "Text"
        case .image: "Image"
        case .audio: "Audio"
        case .video: "Video"
        case .file: "File"
        case .enum: "Enum"
        case .listOfNumbers: "ListOfNumbers"
        case .listOfTexts: "ListOfTexts"
        case .listOfImages: "ListOfImages"
        case .listOfAudios: "ListOfAudios"
        case .listOfVideos: "ListOfVideos"
        case .listOfFiles: "ListOfFiles"
        }
    }
}

/// One named slot of a task type's input or output.
public struct ShapeDescriptor: Sendable, Equatable {
    public var key: String
    public var name: String
    public var description: String
    public var type: ShapeType

    public init(key: String, name: String, description: String, type: ShapeType) {
        self.key = key
        self.name = name
        self.description = description
        self.type = type
    }
}

/// One allowed value of an `Enum` slot.
public struct ShapeEnumValue: Sendable, Equatable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// A kind of task the server dispatches, with the shapes of its input and output.
public struct TaskType: Sendable, Equatable {
    public var id: String
    public var name: String
    public var description: String
    public var inputShape: [ShapeDescriptor]
    public var optionalInputShape: [ShapeDescriptor]
    public var outputShape: [ShapeDescriptor]
    public var optionalOutputShape: [ShapeDescriptor]
    public var inputShapeEnumValues: [String: [ShapeEnumValue]]
    public var optionalInputShapeEnumValues: [String: [ShapeEnumValue]]
    public var outputShapeEnumValues: [String: [ShapeEnumValue]]
    public var optionalOutputShapeEnumValues: [String: [ShapeEnumValue]]
    public var inputShapeDefaults: [String: JSONValue]
    public var optionalInputShapeDefaults: [String: JSONValue]

    public init(
        id: String, name: String, description: String,
        inputShape: [ShapeDescriptor], optionalInputShape: [ShapeDescriptor] = [],
        outputShape: [ShapeDescriptor], optionalOutputShape: [ShapeDescriptor] = [],
        inputShapeEnumValues: [String: [ShapeEnumValue]] = [:],
        optionalInputShapeEnumValues: [String: [ShapeEnumValue]] = [:],
        outputShapeEnumValues: [String: [ShapeEnumValue]] = [:],
        optionalOutputShapeEnumValues: [String: [ShapeEnumValue]] = [:],
        inputShapeDefaults: [String: JSONValue] = [:], optionalInputShapeDefaults: [String: JSONValue] = [:]
    ) {
        self.id = id
        self.name = name
        self.description = description
        self.inputShape = inputShape
        self.optionalInputShape = optionalInputShape
        self.outputShape = outputShape
        self.optionalOutputShape = optionalOutputShape
        self.inputShapeEnumValues = inputShapeEnumValues
        self.optionalInputShapeEnumValues = optionalInputShapeEnumValues
        self.outputShapeEnumValues = outputShapeEnumValues
        self.optionalOutputShapeEnumValues = optionalOutputShapeEnumValues
        self.inputShapeDefaults = inputShapeDefaults
        self.optionalInputShapeDefaults = optionalInputShapeDefaults
    }
}
