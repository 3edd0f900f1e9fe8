import EmbeddedPostgres
import Logging

/// Where the database is: the configured URL, or the embedded cluster started on demand.
struct DatabaseLocation {
    let connectionString: String
    /// Set when this process started the embedded cluster and so must stop it.
    let embeddedToStop: EmbeddedPostgres?
    let isEmbedded: Bool

    static func open(_ configuration: ServerConfiguration, logger: Logger) throws -> DatabaseLocation {
        if let url = configuration.databaseURL {
            return DatabaseLocation(connectionString: url, embeddedToStop: nil, isEmbedded: false)
        }
        let cluster = EmbeddedPostgres(
            configuration: EmbeddedPostgresConfiguration(dataDirectory: configuration.dataDirectory), logger: logger)
        let connectionString = try cluster.start()
        return DatabaseLocation(
            connectionString: connectionString, embeddedToStop: cluster.startedByThisProcess ? cluster : nil,
            isEmbedded: true)
    }

    func close() {
        embeddedToStop?.stop()
    }
}
