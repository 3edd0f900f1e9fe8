import EmbeddedPostgres
import Foundation
import Postgres
import Testing

/// Starting, restarting and stopping a private cluster of its own.
@Suite struct EmbeddedPostgresTests {
    /// A fresh folder the postgres account can enter when the tests run as root.
    private func makeFolder() throws -> String {
        let folder = FileManager.default.temporaryDirectory.path + "/td-embedded-\(UInt32.random(in: .min ... .max))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        return folder
    }

    private func configuration(_ folder: String) -> EmbeddedPostgresConfiguration {
        EmbeddedPostgresConfiguration(dataDirectory: folder, databaseName: "embedded_app", extraSettings: ["fsync": "off"])
    }

    @Test func startIsIdempotentAndDataSurvivesARestart() async throws {
        try await onOwnThread {
            let folder = try makeFolder()
            let server = EmbeddedPostgres(configuration: configuration(folder), logger: quietLogger)
            defer {
                server.stop()
                try? FileManager.default.removeItem(atPath: folder)
            }

            let connectionString = try server.start()
            #expect(connectionString == server.connectionString)
            #expect(connectionString.contains("dbname=embedded_app"))
            #expect(server.startedByThisProcess)
            #expect(try server.start() == connectionString)
            #expect(server.startedByThisProcess)

            let connection = try PostgresConnection(connectionString: connectionString, logger: quietLogger)
            try connection.execute("CREATE TABLE kept (value text)")
            _ = try connection.query("INSERT INTO kept VALUES ($1)", ["survives"])
            #expect(try connection.query("SHOW listen_addresses")[0].string(at: 0) == "")
            #expect(try connection.query("SHOW fsync")[0].string(at: 0) == "off")
            connection.close()

            let second = EmbeddedPostgres(configuration: configuration(folder), logger: quietLogger)
            #expect(try second.start() == connectionString)
            #expect(!second.startedByThisProcess)

            server.stop()
            server.stop()
            #expect(!server.startedByThisProcess)
            let refused = #expect(throws: PostgresError.self) {
                try PostgresConnection(connectionString: connectionString, logger: quietLogger)
            }
            #expect(refused?.isUnavailable == true)

            #expect(try server.start() == connectionString)
            #expect(server.startedByThisProcess)
            let reconnected = try PostgresConnection(connectionString: connectionString, logger: quietLogger)
            #expect(try reconnected.query("SELECT value FROM kept")[0].string("value") == "survives")
        }
    }

    @Test func tooLongSocketPathIsRefusedClearly() throws {
        let folder = FileManager.default.temporaryDirectory.path + "/" + String(repeating: "x", count: 100)
        let server = EmbeddedPostgres(configuration: EmbeddedPostgresConfiguration(dataDirectory: folder), logger: quietLogger)
        #expect {
            try server.start()
        } throws: { error in
            guard case .socketPathTooLong = error as? EmbeddedPostgresError else { return false }
            return "\(error)".contains("shorter data directory")
        }
        #expect(!FileManager.default.fileExists(atPath: folder))
    }

    @Test func missingBinariesAreReported() throws {
        let folder = try makeFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var configuration = configuration(folder)
        configuration.binDirectory = "/nonexistent-postgres/bin"
        #expect {
            try EmbeddedPostgres(configuration: configuration, logger: quietLogger).start()
        } throws: { error in
            guard case .binariesNotFound = error as? EmbeddedPostgresError else { return false }
            return "\(error)".contains("/nonexistent-postgres/bin")
        }
    }
}
