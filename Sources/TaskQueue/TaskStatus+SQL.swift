import Postgres

extension PostgresQuery.StringInterpolation {
    /// Writes a status as its number, `status = \(TaskStatus.running)`: a constant of the code,
    /// so it goes into the text (where the planner matches it against the partial indexes'
    /// predicates), never a value from input.
    mutating func appendInterpolation(_ status: TaskStatus) {
        appendInterpolation(unescaped: "\(status.rawValue)")
    }
}
