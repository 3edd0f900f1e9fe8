import JSON
import Postgres

/// Task providers, custom task types and the administrator's preferred provider per type, in
/// PostgreSQL so that every server process sharing the database agrees. Reads for the request
/// path go through `ProviderCatalog`, which keeps a short-lived snapshot.
public struct ProviderStore: Sendable, PooledStore {
    let pool: PostgresConnectionPool
    /// Ids of the types defined in code, which need no row and may not be redefined.
    let coreTypeIDs: Set<String>

    public init(pool: PostgresConnectionPool, coreTypes: TaskTypeCatalog = .core) {
        self.pool = pool
        coreTypeIDs = Set(coreTypes.types.keys)
    }

    // MARK: Providers

    /// Registers `provider`, or updates it when it exists and belongs to the same owner (its
    /// registration time, which decides the default preference, stays). With `customType`, that
    /// type is created or updated first, owned by the provider's app. Without it, the provider's
    /// type must be a core type or an existing custom type, whose row stays locked until commit
    /// so that it cannot be removed meanwhile.
    public func register(_ provider: TaskProvider, customType: TaskType? = nil) throws(StoreError) {
        try withConnection { connection in
            try connection.transaction { connection in
                do {
                    try save(provider, customType: customType, on: connection)
                } catch let error as PostgresError where error.sqlState == .foreignKeyViolation {
                    throw StoreError.unknownApp(provider.appID ?? "")
                }
            }
        }
    }

    private func save(_ provider: TaskProvider, customType: TaskType?, on connection: PostgresConnection) throws {
        if let customType {
            guard !coreTypeIDs.contains(customType.id) else { throw StoreError.coreTaskType(customType.id) }
            try Self.upsertCustomType(customType, appID: provider.appID, on: connection)
        } else if !coreTypeIDs.contains(provider.taskType) {
            let locked = try connection.query("SELECT 1 FROM custom_task_types WHERE id = \(bind: provider.taskType) FOR SHARE")
            guard !locked.rows.isEmpty else { throw StoreError.unknownTaskType(provider.taskType) }
        }
        let saved = try connection.query(Self.upsertProviderQuery(provider))
        guard saved.affectedRows == 1 else { throw StoreError.ownedByOther(what: "provider", id: provider.id) }
        // A preference for the type the provider no longer processes is void.
        _ = try connection.query(
            "DELETE FROM preferred_providers WHERE provider_id = \(bind: provider.id) AND task_type <> \(bind: provider.taskType)")
    }

    /// Removes a provider. `appID` restricts it to that app's providers (AppAPI); nil removes
    /// any (administrator). An app's custom type of the same id goes too once no provider is
    /// left for it, as in Nextcloud; tasks of the type stay and wait for a new provider.
    public func unregister(providerID: String, appID: String?) throws(StoreError) {
        try withConnection { connection in
            try connection.transaction { connection in
                // Locks in the order `register` takes them: the custom type's row before the
                // provider's (and the version row its trigger updates); the other order deadlocks
                // with a registration for the same type. The type is read first, so the delete
                // re-checks it: should the provider move to another type meanwhile, read again.
                for _ in 0..<Self.unregisterAttempts {
                    guard let type = try connection.query(
                        "SELECT task_type FROM task_providers WHERE id = \(bind: providerID) AND (\(bind: appID)::text IS NULL OR app_id = \(bind: appID))"
                    ).rows.first?.string("task_type") else { throw StoreError.providerNotFound(providerID) }
                    _ = try connection.query("SELECT 1 FROM custom_task_types WHERE id = \(bind: type) FOR UPDATE")
                    // Only the columns removal needs, so that a row the server cannot decode can go.
                    let deleted = try connection.query(
                        """
                        DELETE FROM task_providers WHERE id = \(bind: providerID) AND (\(bind: appID)::text IS NULL
                            OR app_id = \(bind: appID)) AND task_type = \(bind: type)
                        RETURNING app_id
                        """)
                    guard let row = deleted.rows.first else { continue }
                    if let owner = row.string("app_id") {
                        try Self.removeUnusedCustomType(type, ownedBy: owner, on: connection)
                    }
                    return
                }
                throw StoreError.changedConcurrently(providerID)
            }
        }
    }

    /// How often `unregister` reads a provider again that moved to another type meanwhile.
    static let unregisterAttempts = 3

    /// Every provider the server can read, by task type, then registration order.
    public func providers() throws(StoreError) -> [TaskProvider] {
        try withConnection { connection in
            Self.decodeProviders(try connection.query(
                """
                SELECT \(ProviderColumns.all()) FROM task_providers ORDER BY task_type, registered_at, id
                """
            ).rows).values
        }
    }

    /// Makes `providerID` the preferred provider of `taskType`; it must process that type.
    public func setPreferred(taskType: String, providerID: String) throws(StoreError) {
        try withConnection { connection in
            let chosen = try connection.query(
                """
                INSERT INTO preferred_providers (task_type, provider_id)
                SELECT task_type, id FROM task_providers WHERE id = \(bind: providerID) AND task_type = \(bind: taskType)
                ON CONFLICT (task_type) DO UPDATE SET provider_id = EXCLUDED.provider_id, chosen_at = now()
                """)
            guard chosen.affectedRows == 1 else {
                throw StoreError.providerNotForType(provider: providerID, taskType: taskType)
            }
        }
    }

    // MARK: Custom task types

    /// Creates or updates an administrator's custom task type (no owning app).
    public func addCustomType(_ type: TaskType) throws(StoreError) {
        guard !coreTypeIDs.contains(type.id) else { throw .coreTaskType(type.id) }
        try withConnection { connection in try Self.upsertCustomType(type, appID: nil, on: connection) }
    }

    /// Removes a custom task type; refused while providers for it remain.
    public func removeCustomType(id: String) throws(StoreError) {
        try withConnection { connection in
            try connection.transaction { connection in
                guard try !connection.query("SELECT 1 FROM custom_task_types WHERE id = \(bind: id) FOR UPDATE").rows.isEmpty else {
                    throw StoreError.taskTypeNotFound(id)
                }
                let providers = try connection.query(
                    "SELECT id FROM task_providers WHERE task_type = \(bind: id) ORDER BY id"
                ).rows.compactMap { $0.string("id") }
                guard providers.isEmpty else { throw StoreError.taskTypeInUse(id, providers: providers) }
                _ = try connection.query("DELETE FROM custom_task_types WHERE id = \(bind: id)")
            }
        }
    }

    /// Every custom task type the server can read, by id.
    public func customTypes() throws(StoreError) -> [TaskType] {
        try withConnection { connection in
            Self.decodeCustomTypes(try connection.query("SELECT \(TaskTypeColumns.all) FROM custom_task_types ORDER BY id").rows)
                .values
        }
    }

    // MARK: Snapshot

    /// The custom types and each type's preferred provider (the administrator's choice, else
    /// the first registered), with the version they are at, read in one repeatable-read
    /// transaction so that all three agree. Rows that cannot be decoded are left out and
    /// listed: a type whose preferred provider is unreadable falls back to the next provider.
    public func snapshot(core: TaskTypeCatalog) throws(StoreError) -> ProviderSnapshot {
        try withConnection { connection in
            try connection.transaction { connection in
                try connection.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                let version = try Self.version(on: connection)
                let custom = Self.decodeCustomTypes(try connection.query("SELECT \(TaskTypeColumns.all) FROM custom_task_types").rows)
                let providers = Self.decodeProviders(try connection.query(
                    """
                    SELECT \(ProviderColumns.all(prefix: "p."))
                    FROM task_providers p
                    LEFT JOIN preferred_providers pref ON pref.task_type = p.task_type
                    ORDER BY p.task_type, (pref.provider_id = p.id) IS TRUE DESC, p.registered_at, p.id
                    """
                ).rows)
                var preferred: [TaskProvider] = []
                for provider in providers.values where preferred.last?.taskType != provider.taskType {
                    preferred.append(provider)
                }
                return ProviderSnapshot(
                    core: core, customTypes: custom.values, preferredProviders: preferred, version: version,
                    unreadable: custom.unreadable + providers.unreadable)
            }
        }
    }

    private static func decodeProviders(_ rows: [PostgresRow]) -> DecodedRows<TaskProvider> {
        DecodedRows(rows, kind: .provider, id: { $0.string("id") }, decode: ProviderColumns.decode)
    }

    private static func decodeCustomTypes(_ rows: [PostgresRow]) -> DecodedRows<TaskType> {
        DecodedRows(rows, kind: .customTaskType, id: { $0.string("id") }, decode: TaskTypeColumns.decode)
    }

    /// The current version of providers, custom types and preferences: a snapshot at this
    /// version is current.
    public func version() throws(StoreError) -> Int64 {
        try withConnection { connection in try Self.version(on: connection) }
    }

    private static func version(on connection: PostgresConnection) throws -> Int64 {
        guard let version = try connection.query("SELECT version FROM provider_catalog_version").rows.first?.int64("version") else {
            throw StoreError.corruptRow("provider_catalog_version has no row")
        }
        return version
    }

    // MARK: Statements

    /// Inserts a provider or updates its owner's, with the shape columns in
    /// `ProviderShapesColumns.names` order.
    private static func upsertProviderQuery(_ provider: TaskProvider) -> PostgresQuery {
        let columns = ProviderShapesColumns.names
        let updates = columns.map { "\($0) = EXCLUDED.\($0)" }.joined(separator: ", ")
        let shapes = ProviderShapesColumns.encode(provider.shapes).map { $0 as any PostgresBindable }
        return """
            INSERT INTO task_providers (id, app_id, display_name, task_type, expected_runtime, \(unescaped: columns.joined(separator: ", ")))
            VALUES (\(bind: provider.id), \(bind: provider.appID), \(bind: provider.displayName), \(bind: provider.taskType),
                    \(bind: provider.expectedRuntimeSeconds), \(bindList: shapes))
            ON CONFLICT (id) DO UPDATE
            SET display_name = EXCLUDED.display_name, task_type = EXCLUDED.task_type,
                expected_runtime = EXCLUDED.expected_runtime, \(unescaped: updates)
            WHERE task_providers.app_id IS NOT DISTINCT FROM EXCLUDED.app_id
            """
    }

    private static func upsertCustomType(_ type: TaskType, appID: String?, on connection: PostgresConnection) throws {
        let columns = TaskTypeColumns.shapeColumns
        let updates = columns.map { "\($0) = EXCLUDED.\($0)" }.joined(separator: ", ")
        let shapes = TaskTypeColumns.encodedShapes(type).map { $0 as any PostgresBindable }
        let saved = try connection.query(
            """
            INSERT INTO custom_task_types (id, app_id, name, description, \(unescaped: columns.joined(separator: ", ")))
            VALUES (\(bind: type.id), \(bind: appID), \(bind: type.name), \(bind: type.description), \(bindList: shapes))
            ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, description = EXCLUDED.description, \(unescaped: updates)
            WHERE custom_task_types.app_id IS NOT DISTINCT FROM EXCLUDED.app_id
            """)
        guard saved.affectedRows == 1 else { throw StoreError.ownedByOther(what: "task type", id: type.id) }
    }

    /// Deletes the app's custom type once no provider processes it. The row is locked first,
    /// so a registration for the type (which locks it too) is either seen or waits.
    private static func removeUnusedCustomType(_ id: String, ownedBy appID: String, on connection: PostgresConnection) throws {
        let locked = try connection.query(
            "SELECT 1 FROM custom_task_types WHERE id = \(bind: id) AND app_id = \(bind: appID) FOR UPDATE")
        guard !locked.rows.isEmpty,
            try connection.query("SELECT 1 FROM task_providers WHERE task_type = \(bind: id) LIMIT 1").rows.isEmpty
        else { return }
        _ = try connection.query("DELETE FROM custom_task_types WHERE id = \(bind: id)")
    }

}
