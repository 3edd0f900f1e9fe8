extension SchemaMigrations {
    /// Version 2: the lease length per claim and the reaper's index of running tasks.
    static let leases = SchemaMigration(version: 2, name: "lease reaping", sql: #"""
        -- The lease length a claim was granted, so that every progress report extends it by as much.
        ALTER TABLE tasks ADD COLUMN lease_seconds integer;
        -- Running tasks by the end of their lease, for the reaper. Partial: only claimed tasks are in it.
        CREATE INDEX tasks_lease_idx ON tasks (lease_expires_at) WHERE status = 2;
        """#)
}
