import JSON
import Postgres

/// A provider's row in `task_providers` (its shape additions stored as `ShapeColumns` says).
enum ProviderColumns {
    static let shapeColumns = [
        "optional_input_shape", "optional_output_shape", "input_shape_enum_values",
        "optional_input_shape_enum_values", "output_shape_enum_values", "optional_output_shape_enum_values",
        "input_shape_defaults", "optional_input_shape_defaults",
    ]

    /// The columns `decode` reads; `prefix` qualifies them (e.g. `p.`).
    static func all(prefix: String = "") -> String {
        (["id", "app_id", "display_name", "task_type", "expected_runtime"].map { prefix + $0 }
            + shapeColumns.map { "\(prefix)\($0)::text AS \($0)" }).joined(separator: ", ")
    }

    /// The eight shape values, serialized, in `shapeColumns` order.
    static func encodedShapes(_ shapes: ProviderShapes) -> [String] {
        [
            ShapeColumns.encode(shapes.optionalInputShape), ShapeColumns.encode(shapes.optionalOutputShape),
            ShapeColumns.encode(shapes.inputShapeEnumValues), ShapeColumns.encode(shapes.optionalInputShapeEnumValues),
            ShapeColumns.encode(shapes.outputShapeEnumValues), ShapeColumns.encode(shapes.optionalOutputShapeEnumValues),
            ShapeColumns.encode(shapes.inputShapeDefaults), ShapeColumns.encode(shapes.optionalInputShapeDefaults),
        ]
    }

    static func decode(_ row: PostgresRow) throws(ProviderStoreError) -> TaskProvider {
        guard let id = row.string("id"), let name = row.string("display_name"), let type = row.string("task_type"),
            let runtime = row.int("expected_runtime")
        else { throw .corruptRow("provider row missing a column") }
        let owner = "provider \(id)"
        let shapes = ProviderShapes(
            optionalInputShape: try ShapeColumns.shapes(row, "optional_input_shape", of: owner),
            optionalOutputShape: try ShapeColumns.shapes(row, "optional_output_shape", of: owner),
            inputShapeEnumValues: try ShapeColumns.enumValues(row, "input_shape_enum_values", of: owner),
            optionalInputShapeEnumValues: try ShapeColumns.enumValues(row, "optional_input_shape_enum_values", of: owner),
            outputShapeEnumValues: try ShapeColumns.enumValues(row, "output_shape_enum_values", of: owner),
            optionalOutputShapeEnumValues: try ShapeColumns.enumValues(row, "optional_output_shape_enum_values", of: owner),
            inputShapeDefaults: try ShapeColumns.defaults(row, "input_shape_defaults", of: owner),
            optionalInputShapeDefaults: try ShapeColumns.defaults(row, "optional_input_shape_defaults", of: owner))
        return TaskProvider(
            id: id, appID: row.string("app_id"), displayName: name, taskType: type, expectedRuntimeSeconds: runtime,
            shapes: shapes)
    }
}
