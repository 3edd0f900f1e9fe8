import JSON
import Postgres

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

    static func decode(_ row: PostgresRow, of owner: String) throws(StoreError) -> ProviderShapes {
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
