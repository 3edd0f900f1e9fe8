import Postgres

/// A store whose statements run on connections of a PostgreSQL pool.
protocol PooledStore {
    var pool: PostgresConnectionPool { get }
}

extension PooledStore {
    /// Runs `body` on a pooled connection, turning its failures into `StoreError`: a
    /// `StoreError` the body throws passes through, database failures become `.database`, and
    /// anything else is a bug reported as a corrupt row. `onUniqueViolation`, when given, turns
    /// a unique-constraint violation into the refusal it means for this statement instead.
    func withConnection<T>(
        onUniqueViolation refusal: ((PostgresError) -> StoreError)? = nil,
        _ body: (PostgresConnection) throws -> T
    ) throws(StoreError) -> T {
        do {
            return try pool.withConnection(body)
        } catch let error as StoreError {
            throw error
        } catch let error as PostgresError {
            if error.sqlState == .uniqueViolation, let refusal { throw refusal(error) }
            throw .database(error)
        } catch {
            throw .corruptRow("unexpected error: \(error)")
        }
    }

    /// ``withConnection(onUniqueViolation:_:)`` for a body that is one statement or one
    /// transaction, run again when PostgreSQL broke a deadlock by aborting it (then nothing of it
    /// was kept). Ending a task releases or cancels the tasks waiting for it under their row
    /// locks; two transactions that end predecessors of the same successors can meet in
    /// opposite order.
    func withConnectionRetryingDeadlocks<T>(_ body: (PostgresConnection) throws -> T) throws(StoreError) -> T {
        var retries = 0
        while true {
            do {
                return try withConnection(body)
            } catch .database(let error) where error.sqlState == .deadlockDetected && retries < 5 {
                retries += 1
            }
        }
    }
}
