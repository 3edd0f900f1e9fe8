import Postgres

/// Why the store could not do what was asked.
public enum TaskStoreError: Error, Sendable, CustomStringConvertible {
    /// The database failed or is unreachable.
    case database(PostgresError)
    /// A row did not have the shape the schema promises.
    case corruptRow(String)
    /// Input file ids that are not uploads of the task's owner waiting to be scheduled.
    case inputFilesUnavailable([Int64])

    public var description: String {
        switch self {
        case .database(let error): "database error: \(error)"
        case .corruptRow(let what): "corrupt row: \(what)"
        case .inputFilesUnavailable(let ids): "input files not available: \(ids)"
        }
    }

    /// True when the database is unreachable: callers answer 503 and try again later.
    public var isUnavailable: Bool {
        if case .database(let error) = self { return error.isUnavailable }
        return false
    }
}
