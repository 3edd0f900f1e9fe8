/// Settings of a ``PostgresConnectionPool``.
///
/// The description and mirror show the connection string with its password redacted, so the
/// configuration can be logged.
public struct PostgresPoolConfiguration: Sendable, CustomStringConvertible, CustomReflectable {
    /// The libpq connection string (`key=value …` or a `postgresql://` URI) each connection uses.
    public var connectionString: String
    /// The most connections open at once, borrowed or idle. Default 16.
    public var maxConnections: Int
    /// How long a borrower waits for a free connection before ``PostgresError/Kind/poolTimeout``. Default 5.
    public var checkoutTimeoutSeconds: Double
    /// libpq's `connect_timeout`, used when the connection string sets none. Default 5.
    public var connectTimeoutSeconds: Int
    /// How long ``PostgresConnectionPool/close()`` waits for borrowed connections to come back. Default 10.
    public var closeTimeoutSeconds: Double = 10
    /// Whether connections prepare their statements under names (see
    /// ``PostgresConnection/query(_:_:)``); false behind PgBouncer's transaction pooling before
    /// 1.21, which cannot carry named statements from one transaction to the next. Default true.
    public var usesPreparedStatements: Bool
    /// Told, for every checkout, how many seconds it waited for a connection (metrics). Default none.
    public var checkoutWaitObserver: (@Sendable (Double) -> Void)?

    /// Creates a configuration; see each property for its meaning and default.
    public init(
        connectionString: String, maxConnections: Int = 16, checkoutTimeoutSeconds: Double = 5, connectTimeoutSeconds: Int = 5,
        usesPreparedStatements: Bool = true
    ) {
        precondition(maxConnections > 0, "a pool needs at least one connection")
        self.connectionString = connectionString
        self.maxConnections = maxConnections
        self.checkoutTimeoutSeconds = checkoutTimeoutSeconds
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.usesPreparedStatements = usesPreparedStatements
    }

    /// The settings, with the connection string's password redacted.
    public var description: String {
        "PostgresPoolConfiguration(connectionString: \(redactedConnectionString), maxConnections: \(maxConnections), "
            + "checkoutTimeoutSeconds: \(checkoutTimeoutSeconds), connectTimeoutSeconds: \(connectTimeoutSeconds), "
            + "closeTimeoutSeconds: \(closeTimeoutSeconds), usesPreparedStatements: \(usesPreparedStatements))"
    }

    /// The settings for `dump` and debuggers, with the connection string's password redacted.
    public var customMirror: Mirror {
        Mirror(self, children: [
            "connectionString": redactedConnectionString,
            "maxConnections": maxConnections,
            "checkoutTimeoutSeconds": checkoutTimeoutSeconds,
            "connectTimeoutSeconds": connectTimeoutSeconds,
            "closeTimeoutSeconds": closeTimeoutSeconds,
            "usesPreparedStatements": usesPreparedStatements,
        ])
    }

    private var redactedConnectionString: String {
        ConnectionStringSecrets.redact(connectionString, connectionString: connectionString)
    }
}
