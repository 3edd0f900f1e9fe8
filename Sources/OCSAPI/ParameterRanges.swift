/// The allowed range of every integer parameter, in one place, so that the API description,
/// the error messages and the tests agree. Each range fits the column the value goes to
/// (`integer` is 32 bits), so nothing out of range reaches PostgreSQL.
enum ParameterRanges {
    /// `priority` of a new task (beyond Nextcloud): higher is claimed first.
    static let priority = -1000...1000
    /// `runAfter`: unix seconds, up to the last second of year 9999.
    static let runAfter = 0...253_402_300_799
    /// `numberOfTasks` of `next_batch`.
    static let numberOfTasks = 1...100
    /// `wait` of a long poll, in seconds; a longer one is capped at the configured maximum.
    static let wait = 0...int32Max
    /// `leaseSeconds` a worker asks for; a longer one is capped at the configured maximum.
    static let leaseSeconds = 1...int32Max
    /// `attempt`: the claim a report names.
    static let attempt = 1...int32Max
    /// `taskId` inside batch bodies.
    static let taskID = 1...Int(Int64.max)
    /// A provider's `expected_runtime`, in seconds.
    static let expectedRuntime = 0...int32Max

    private static let int32Max = Int(Int32.max)
}
