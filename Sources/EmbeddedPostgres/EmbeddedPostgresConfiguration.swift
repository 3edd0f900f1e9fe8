/// Settings for a private PostgreSQL cluster run by ``EmbeddedPostgres``.
public struct EmbeddedPostgresConfiguration: Sendable {
    /// The cluster's folder, created if missing: the cluster lives in `<dir>/pgdata`, the unix
    /// socket in `<dir>/run` and the server log in `<dir>/postgres.log`. The socket path must stay
    /// under 100 bytes, so keep this path short.
    public var dataDirectory: String
    /// The database to create if missing and to name in the connection string. Default `"taskdispatch"`.
    public var databaseName: String
    /// The port, which here only names the unix socket file: the server listens on no TCP address. Default 5432.
    public var port: Int
    /// The folder holding `initdb` and `pg_ctl`. Default `nil`: the `PG_BINDIR` environment
    /// variable, else the newest `/usr/lib/postgresql/*/bin`, else `pg_config --bindir`.
    public var binDirectory: String?
    /// The account the server runs as when this process runs as root, which PostgreSQL refuses;
    /// the cluster folder is then given to this account. Ignored otherwise. Default `"postgres"`.
    public var systemUser: String
    /// `postgresql.conf` settings applied on top of the embedded defaults at every start, for
    /// example `["fsync": "off"]` for throwaway test clusters. Names are setting names; values are written quoted.
    public var extraSettings: [String: String]
    /// How long `pg_ctl` waits for the server to start or stop. Default 60.
    public var serverTimeoutSeconds: Int = 60

    /// Creates a configuration; see each property for its meaning and default.
    public init(
        dataDirectory: String,
        databaseName: String = "taskdispatch",
        port: Int = 5432,
        binDirectory: String? = nil,
        systemUser: String = "postgres",
        extraSettings: [String: String] = [:]
    ) {
        self.dataDirectory = dataDirectory
        self.databaseName = databaseName
        self.port = port
        self.binDirectory = binDirectory
        self.systemUser = systemUser
        self.extraSettings = extraSettings
    }
}
