import EmbeddedPostgres
import Foundation
import Logging
import Postgres

/// Databases for tests: one throwaway PostgreSQL cluster per test process and a fresh, empty
/// database for every caller, so tests can run in parallel without seeing each other's rows.
///
/// The cluster starts on first use in a new temporary folder, runs without durability
/// (`fsync`, `synchronous_commit` and `full_page_writes` off), and is stopped and deleted when
/// the process exits. Clusters left behind by test processes that were killed are cleaned up
/// the next time a test process starts one.
public enum TestDatabase {
    /// Creates a new, empty database with a unique name in the shared cluster and returns its
    /// connection string. Thread-safe; callable from many tests in parallel.
    ///
    /// - Parameter prefix: the start of the database name, to recognize it in logs; letters,
    ///   digits and underscores are kept.
    public static func create(prefix: String = "test") throws -> String {
        let (cluster, number) = try TestCluster.shared.checkOut()
        let name = databaseName(prefix: prefix, number: number)
        let admin = try PostgresConnection(connectionString: cluster.connectionString(database: "postgres"), logger: TestCluster.logger)
        defer { admin.close() }
        try admin.execute("CREATE DATABASE \"\(name)\"")
        return cluster.connectionString(database: name)
    }

    /// A superuser connection string for `database` in the shared cluster, for tests that need
    /// to act on the server itself (terminating backends, inspecting `pg_stat_activity`).
    public static func superuserConnectionString(database: String = "postgres") throws -> String {
        try TestCluster.shared.checkOut().cluster.connectionString(database: database)
    }

    /// The schema of `database` in the shared cluster, as `pg_dump --schema-only --no-owner
    /// --no-privileges` prints it.
    public static func schemaDump(database: String) throws -> String {
        try TestCluster.shared.checkOut().cluster.schemaDump(database: database)
    }

    /// `<prefix>_<number>`, lowercased and cut to fit PostgreSQL's 63-byte identifiers.
    static func databaseName(prefix: String, number: Int) -> String {
        let kept = prefix.lowercased().filter { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
        return "\((kept.isEmpty ? "test" : kept).prefix(40))_\(number)"
    }
}
