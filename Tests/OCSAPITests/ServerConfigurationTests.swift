import Logging
import TaskDispatchApp
import Testing

@Suite("Server configuration (no I/O)")
struct ServerConfigurationTests {
    @Test("a flag wins over the environment, which wins over the default")
    func precedence() throws {
        let defaults = ServerConfiguration()
        let environment = ["TASKDISPATCH_PORT": "9000", "TASKDISPATCH_MAX_ATTEMPTS": "7", "DATABASE_URL": "postgres://env"]
        let resolved = try ServerConfiguration.resolve(flags: ["port": "9100"], environment: environment)
        #expect(resolved.port == 9100)
        #expect(resolved.maxAttempts == 7)
        #expect(resolved.databaseURL == "postgres://env")
        #expect(resolved.leaseSeconds == defaults.leaseSeconds)
        #expect(try ServerConfiguration.resolve(flags: [:], environment: [:]) == defaults)
    }

    @Test("behind a transaction pooler: prepared statements off and a direct LISTEN database, from the environment")
    func transactionPoolerSettings() throws {
        let defaults = try ServerConfiguration.resolve(flags: ["database-url": "host=pooler"], environment: [:])
        #expect(defaults.preparedStatements == true)
        #expect(defaults.listenDatabaseURL == nil, "the listener uses the database URL unless told otherwise")
        let resolved = try ServerConfiguration.resolve(
            flags: [:],
            environment: ["TASKDISPATCH_PREPARED_STATEMENTS": "false", "TASKDISPATCH_LISTEN_DATABASE_URL": "host=direct"])
        #expect(resolved.preparedStatements == false)
        #expect(resolved.listenDatabaseURL == "host=direct")
    }

    @Test("leases per type: type ids keep their colons, several entries, spaces around names")
    func leasesByType() throws {
        let resolved = try ServerConfiguration.resolve(
            flags: ["lease-by-type": "core:text2image=900, core:audio2text=600"], environment: [:])
        #expect(resolved.leaseSecondsByType == ["core:text2image": 900, "core:audio2text": 600])
    }

    @Test("every setting is read from its flag", arguments: [
        ("host", "::1"), ("threads", "4"), ("db-pool-size", "3"), ("max-body-bytes", "2048"),
        ("connection-timeout", "5"), ("request-timeout", "6"), ("lease-seconds", "90"),
        ("max-lease-seconds", "900"), ("lease-by-type", "core:text2image=900"), ("max-attempts", "2"), ("idempotency-retention", "60"), ("log-level", "debug"),
        ("max-file-bytes", "1024"), ("unused-file-retention", "60"), ("schedule-rate-limit", "0"),
        ("schedule-rate-period", "120"), ("csrf-check", "false"), ("batch-worker-calls", "false"),
        ("prepared-statements", "false"), ("listen-database-url", "host=/run/postgresql dbname=tasks"),
    ])
    func flags(name: String, value: String) throws {
        let resolved = try ServerConfiguration.resolve(flags: [name: value], environment: [:])
        #expect(resolved != ServerConfiguration(), "--\(name) \(value) changed nothing")
    }

    @Test("nonsense is refused with the setting's name", arguments: [
        ("port", "70000"), ("threads", "0"), ("lease-seconds", "-1"), ("max-attempts", "many"), ("log-level", "loud"),
        ("lease-by-type", "core:text2image"), ("lease-by-type", "core:text2image=-5"), ("lease-by-type", "=60"),
        ("max-file-bytes", "0"), ("schedule-rate-limit", "-1"), ("schedule-rate-period", "0"), ("csrf-check", "maybe"),
        ("batch-worker-calls", "sometimes"), ("prepared-statements", "sometimes"),
    ])
    func invalid(name: String, value: String) {
        #expect {
            try ServerConfiguration.resolve(flags: [name: value], environment: [:])
        } throws: { error in
            "\(error)".contains(name)
        }
    }
}
