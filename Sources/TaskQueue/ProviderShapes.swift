import JSON

/// What a provider adds to its task type, as in Nextcloud: optional slots, the allowed values
/// of enum slots, and defaults. The type as listed and validated is its own shapes plus those
/// of its preferred provider (`TaskType.adding(_:)`).
public struct ProviderShapes: Sendable, Equatable {
    public var optionalInputShape: [ShapeDescriptor]
    public var optionalOutputShape: [ShapeDescriptor]
    public var inputShapeEnumValues: [String: [ShapeEnumValue]]
    public var optionalInputShapeEnumValues: [String: [ShapeEnumValue]]
    public var outputShapeEnumValues: [String: [ShapeEnumValue]]
    public var optionalOutputShapeEnumValues: [String: [ShapeEnumValue]]
    public var inputShapeDefaults: [String: JSONValue]
    public var optionalInputShapeDefaults: [String: JSONValue]

    public init(
        optionalInputShape: [ShapeDescriptor] = [], optionalOutputShape: [ShapeDescriptor] = [],
        inputShapeEnumValues: [String: [ShapeEnumValue]] = [:],
        optionalInputShapeEnumValues: [String: [ShapeEnumValue]] = [:],
        outputShapeEnumValues: [String: [ShapeEnumValue]] = [:],
        optionalOutputShapeEnumValues: [String: [ShapeEnumValue]] = [:],
        inputShapeDefaults: [String: JSONValue] = [:], optionalInputShapeDefaults: [String: JSONValue] = [:]
    ) {
        self.optionalInputShape = optionalInputShape
        self.optionalOutputShape = optionalOutputShape
        self.inputShapeEnumValues = inputShapeEnumValues
        self.optionalInputShapeEnumValues = optionalInputShapeEnumValues
        self.outputShapeEnumValues = outputShapeEnumValues
        self.optionalOutputShapeEnumValues = optionalOutputShapeEnumValues
        self.inputShapeDefaults = inputShapeDefaults
        self.optionalInputShapeDefaults = optionalInputShapeDefaults
    }
}

extension TaskType {
    /// This type with a provider's additions; where both define a slot, a slot's enum values
    /// or a default, the provider's wins.
    public func adding(_ shapes: ProviderShapes) -> TaskType {
        var type = self
        type.optionalInputShape = Self.merged(optionalInputShape, shapes.optionalInputShape)
        type.optionalOutputShape = Self.merged(optionalOutputShape, shapes.optionalOutputShape)
        type.inputShapeEnumValues.merge(shapes.inputShapeEnumValues) { _, provider in provider }
        type.optionalInputShapeEnumValues.merge(shapes.optionalInputShapeEnumValues) { _, provider in provider }
        type.outputShapeEnumValues.merge(shapes.outputShapeEnumValues) { _, provider in provider }
        type.optionalOutputShapeEnumValues.merge(shapes.optionalOutputShapeEnumValues) { _, provider in provider }
        type.inputShapeDefaults.merge(shapes.inputShapeDefaults) { _, provider in provider }
        type.optionalInputShapeDefaults.merge(shapes.optionalInputShapeDefaults) { _, provider in provider }
        return type
    }

    private static func merged(_ own: [ShapeDescriptor], _ added: [ShapeDescriptor]) -> [ShapeDescriptor] {
        let addedKeys = Set(added.map(\.key))
        return own.filter { !addedKeys.contains($0.key) } + added
    }
}
