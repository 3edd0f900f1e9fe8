/// Why ``SchemaMigrator`` refused to migrate a database.
public enum SchemaMigrationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The database applied migration `version` with SQL whose checksum was `recorded`; the
    /// code's migration of that version has checksum `expected`. The code's migration was edited
    /// after release (or the database's record was), so the schema may not be what the code expects.
    case checksumMismatch(version: Int, name: String, recorded: String, expected: String)

    public var description: String {
        switch self {
        case let .checksumMismatch(version, name, recorded, expected):
            "schema migration \(version) (\(name)) was applied with checksum \(recorded), but this build's migration \(version) "
                + "has checksum \(expected): a released migration never changes; restore it and add a new migration instead"
        }
    }
}
