/// What a `taskdispatch_ready` notification says: which tasks became claimable.
///
/// Sent by the `tasks_notify_ready` trigger (``SchemaMigrations``, version 8) once per
/// statement: a line `count type` per task type, or `*` when too many types changed for the
/// payload limit.
public enum ReadyTaskNotice: Sendable, Equatable {
    /// The channel the trigger notifies on.
    public static let channel = "taskdispatch_ready"

    /// This many tasks of each type became claimable.
    case counts([String: Int])
    /// Tasks of unknown types became claimable: check every waited type.
    case unspecified

    /// Reads a payload; a payload it cannot read counts as ``unspecified``, so a wakeup is
    /// never lost to a format problem.
    public init(payload: String) {
        var counts: [String: Int] = [:]
        for line in payload.split(separator: "\n") {
            guard let space = line.firstIndex(of: " "), let count = Int(line[..<space]), count > 0 else {
                self = .unspecified
                return
            }
            counts[String(line[line.index(after: space)...]), default: 0] += count
        }
        self = counts.isEmpty ? .unspecified : .counts(counts)
    }
}
