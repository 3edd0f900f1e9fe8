import JSON
import Postgres

/// A custom task type's row in `custom_task_types`: its input and output shapes, and the rest of
/// its shape maps in the same eight columns a provider's additions use (`ProviderShapesColumns`).
enum TaskTypeColumns {
    static let shapeColumns = ["input_shape", "output_shape"] + ProviderShapesColumns.names
    static let all = (["id", "name", "description"] + shapeColumns).joined(separator: ", ")

    /// The ten shape values of `type`, serialized, in `shapeColumns` order.
    static func encodedShapes(_ type: TaskType) -> [String] {
        let rest = ProviderShapes(
            optionalInputShape: type.optionalInputShape, optionalOutputShape: type.optionalOutputShape,
            inputShapeEnumValues: type.inputShapeEnumValues, optionalInputShapeEnumValues: type.optionalInputShapeEnumValues,
            outputShapeEnumValues: type.outputShapeEnumValues, optionalOutputShapeEnumValues: type.optionalOutputShapeEnumValues,
            inputShapeDefaults: type.inputShapeDefaults, optionalInputShapeDefaults: type.optionalInputShapeDefaults)
        return [ShapeColumns.encode(type.inputShape), ShapeColumns.encode(type.outputShape)] + ProviderShapesColumns.encode(rest)
    }

    static func decode(_ row: PostgresRow) throws(StoreError) -> TaskType {
        guard let id = row.string("id"), let name = row.string("name"), let description = row.string("description") else {
            throw .corruptRow("custom task type without id, name or description")
        }
        let owner = "custom task type \(id)"
        let bare = TaskType(
            id: id, name: name, description: description,
            inputShape: try ShapeColumns.shapes(row, "input_shape", of: owner),
            outputShape: try ShapeColumns.shapes(row, "output_shape", of: owner))
        // `bare` has none of the eight, so adding them sets them as stored.
        return bare.adding(try ProviderShapesColumns.decode(row, of: owner))
    }
}
