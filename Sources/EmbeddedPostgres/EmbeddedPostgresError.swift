/// A failure setting up or running an embedded PostgreSQL cluster.
public enum EmbeddedPostgresError: Error, CustomStringConvertible, Sendable {
    /// `initdb`, `pg_ctl` or `runuser` could not be found; the text says where it was looked for.
    case binariesNotFound(String)
    /// A command exited unsuccessfully; `output` is the tail of what it printed.
    case commandFailed(command: String, status: Int32, output: String)
    /// A folder or account the cluster needs is not usable; the text names it and says why.
    case notAccessible(String)
    /// The unix socket path would exceed what the operating system allows.
    case socketPathTooLong(String)
    /// A configuration value that cannot be used; the text says which.
    case invalidConfiguration(String)
    /// The server started but the database could not be reached or created.
    case databaseSetupFailed(String)

    /// A message that says what failed and how to fix it.
    public var description: String {
        switch self {
        case .binariesNotFound(let detail):
            "PostgreSQL binaries not found: \(detail). Install PostgreSQL (Debian: postgresql) or set PG_BINDIR."
        case .commandFailed(let command, let status, let output):
            "\(command) failed with exit status \(status):\n\(output)"
        case .notAccessible(let detail):
            "cluster folder not accessible: \(detail)"
        case .socketPathTooLong(let path):
            "unix socket path \(path) is \(path.utf8.count) bytes, longer than the 100 allowed: use a shorter data directory"
        case .invalidConfiguration(let detail):
            "invalid embedded PostgreSQL configuration: \(detail)"
        case .databaseSetupFailed(let detail):
            "could not set up the database: \(detail)"
        }
    }
}
