import JSON
import Postgres

/// A custom task type's row in `custom_task_types` (shape maps stored as `ShapeColumns` says).
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
            ShapeColumns.encode(type.inputShape), ShapeColumns.encode(type.optionalInputShape),
            ShapeColumns.encode(type.outputShape), ShapeColumns.encode(type.optionalOutputShape),
            ShapeColumns.encode(type.inputShapeEnumValues), ShapeColumns.encode(type.optionalInputShapeEnumValues),
            ShapeColumns.encode(type.outputShapeEnumValues), ShapeColumns.encode(type.optionalOutputShapeEnumValues),
            ShapeColumns.encode(type.inputShapeDefaults), ShapeColumns.encode(type.optionalInputShapeDefaults),
        ]
    }

    static func decode(_ row: PostgresRow) throws(ProviderStoreError) -> TaskType {
        guard let id = row.string("id"), let name = row.string("name"), let description = row.string("description") else {
            throw .corruptRow("custom task type without id, name or description")
        }
        let owner = "custom task type \(id)"
        return TaskType(
            id: id, name: name, description: description,
            inputShape: try ShapeColumns.shapes(row, "input_shape", of: owner),
            optionalInputShape: try ShapeColumns.shapes(row, "optional_input_shape", of: owner),
            outputShape: try ShapeColumns.shapes(row, "output_shape", of: owner),
            optionalOutputShape: try ShapeColumns.shapes(row, "optional_output_shape", of: owner),
            inputShapeEnumValues: try ShapeColumns.enumValues(row, "input_shape_enum_values", of: owner),
            optionalInputShapeEnumValues: try ShapeColumns.enumValues(row, "optional_input_shape_enum_values", of: owner),
            outputShapeEnumValues: try ShapeColumns.enumValues(row, "output_shape_enum_values", of: owner),
            optionalOutputShapeEnumValues: try ShapeColumns.enumValues(row, "optional_output_shape_enum_values", of: owner),
            inputShapeDefaults: try ShapeColumns.defaults(row, "input_shape_defaults", of: owner),
            optionalInputShapeDefaults: try ShapeColumns.defaults(row, "optional_input_shape_defaults", of: owner))
    }
}
