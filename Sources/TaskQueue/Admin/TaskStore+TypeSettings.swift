import Postgres

/// What an operator set for a task type.
public struct TaskTypeSetting: Sendable, Equatable {
    /// Nothing of a paused type is claimed; it still accepts tasks.
    public var paused: Bool
    /// At most this many tasks of the type run at once, across all server processes.
    public var maxRunning: Int?

    public init(paused: Bool = false, maxRunning: Int? = nil) {
        self.paused = paused
        self.maxRunning = maxRunning
    }
}

extension TaskStore {
    /// The settings of every type an operator paused or limited.
    public func typeSettings() throws(StoreError) -> [String: TaskTypeSetting] {
        try withConnection { connection in
            var settings: [String: TaskTypeSetting] = [:]
            for row in try connection.query("SELECT type, paused, max_running FROM task_type_settings").rows {
                guard let type = row.string("type") else { continue }
                settings[type] = TaskTypeSetting(paused: row.bool("paused") ?? false, maxRunning: row.int("max_running"))
            }
            return settings
        }
    }

    /// Pauses or resumes a type. Resuming wakes the long polls waiting for it, in every process.
    public func setPaused(type: String, _ paused: Bool) throws(StoreError) -> TaskTypeSetting {
        try changeSetting(type: type, "paused = \(bind: paused)", insert: "\(bind: paused), NULL")
    }

    /// Sets (or with nil removes) a type's running limit. The claim enforces it from its next
    /// statement on; tasks already running keep running. Wakes the type's waiting long polls,
    /// which may now have room.
    public func setMaxRunning(type: String, _ maxRunning: Int?) throws(StoreError) -> TaskTypeSetting {
        defer { limitedTypes.invalidate() }
        return try changeSetting(type: type, "max_running = \(bind: maxRunning)::integer", insert: "false, \(bind: maxRunning)::integer")
    }

    /// Upserts the type's row, drops it when it no longer says anything, and announces the
    /// type's claimable tasks on the ready channel (delivered at commit).
    private func changeSetting(type: String, _ assignment: PostgresQuery, insert values: PostgresQuery) throws(StoreError) -> TaskTypeSetting {
        try withConnection { connection in
            try connection.transaction { connection in
                let row = try connection.query(
                    """
                    INSERT INTO task_type_settings AS setting (type, paused, max_running)
                    VALUES (\(bind: type), \(fragment: values))
                    ON CONFLICT (type) DO UPDATE SET \(fragment: assignment), updated_at = now()
                    RETURNING paused, max_running
                    """
                ).rows.first
                _ = try connection.query(
                    "DELETE FROM task_type_settings WHERE type = \(bind: type) AND NOT paused AND max_running IS NULL")
                _ = try connection.query(
                    """
                    SELECT pg_notify('\(unescaped: ReadyTaskNotice.channel)', counted.n || ' ' || counted.type)
                    FROM (\(fragment: Self.readyCountsQuery(types: [type], cap: 1000))) AS counted
                    WHERE counted.n > 0
                    """)
                return TaskTypeSetting(paused: row?.bool("paused") ?? false, maxRunning: row?.int("max_running"))
            }
        }
    }
}
