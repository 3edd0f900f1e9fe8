import Foundation
import JSON
import Logging
import Postgres
import TaskDispatchTesting
@testable import TaskQueue

/// A migrated fresh database with its stores.
struct StoreFixture {
    static let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

    let connectionString: String
    let pool: PostgresConnectionPool
    let tasks: TaskStore
    let accounts: AccountStore

    init(poolSize: Int = 16) throws {
        connectionString = try TestDatabase.create(prefix: "store")
        pool = PostgresConnectionPool(
            configuration: PostgresPoolConfiguration(connectionString: connectionString, maxConnections: poolSize),
            logger: Self.logger)
        _ = try pool.withConnection { try SchemaMigrator(logger: Self.logger).migrate($0) }
        tasks = TaskStore(pool: pool)
        accounts = AccountStore(pool: pool)
    }

    @discardableResult
    func schedule(_ type: String = "core:text2text", user: String = "alice", text: String = "x") throws -> TaskRecord {
        try tasks.schedule(NewTask(type: type, input: ["input": .string(text)], userID: user, appID: "app"))
    }

    func claimOne(_ types: [String] = ["core:text2text"]) throws -> TaskRecord? {
        try tasks.claim(types: types, limit: 1, claimant: "worker", leaseSeconds: 60).first
    }

    /// Runs one SQL statement directly.
    func query(_ sql: String, _ parameters: [any PostgresBindable] = []) throws -> PostgresResult {
        try pool.withConnection { try $0.query(sql, parameters) }
    }

    func close() { pool.close() }
}
