import TaskDispatchApp
import TaskQueue
import Testing

@Suite("Webhook settings (no I/O)")
struct WebhookConfigurationTests {
    @Test("defaults: 10 s timeout, 10 calls, 10 s to 1 h backoff, 2 s poll, private targets refused, unsigned")
    func defaults() throws {
        let configuration = try ServerConfiguration.resolve(flags: [:], environment: [:])
        #expect(configuration.webhookTimeoutSeconds == 10)
        #expect(configuration.webhookRetryPolicy == WebhookRetryPolicy(maxAttempts: 10, baseDelaySeconds: 10, maxDelaySeconds: 3600))
        #expect(configuration.webhookPollSeconds == 2)
        #expect(configuration.webhookAllowPrivateTargets == false)
        #expect(configuration.webhookSecret == nil)
    }

    @Test("flags win over the environment")
    func flagsAndEnvironment() throws {
        let environment = [
            "TASKDISPATCH_WEBHOOK_TIMEOUT": "3", "TASKDISPATCH_WEBHOOK_MAX_ATTEMPTS": "4",
            "TASKDISPATCH_WEBHOOK_RETRY_BASE_SECONDS": "0.5", "TASKDISPATCH_WEBHOOK_RETRY_MAX_SECONDS": "60",
            "TASKDISPATCH_WEBHOOK_POLL_SECONDS": "5", "TASKDISPATCH_WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
            "TASKDISPATCH_WEBHOOK_SECRET": "from-env",
        ]
        let fromEnvironment = try ServerConfiguration.resolve(flags: [:], environment: environment)
        #expect(fromEnvironment.webhookTimeoutSeconds == 3)
        #expect(fromEnvironment.webhookRetryPolicy == WebhookRetryPolicy(maxAttempts: 4, baseDelaySeconds: 0.5, maxDelaySeconds: 60))
        #expect(fromEnvironment.webhookPollSeconds == 5)
        #expect(fromEnvironment.webhookAllowPrivateTargets)
        #expect(fromEnvironment.webhookSecret == "from-env")
        let fromFlags = try ServerConfiguration.resolve(
            flags: ["webhook-secret": "from-flag", "webhook-allow-private-targets": "false", "webhook-timeout": "7"],
            environment: environment)
        #expect(fromFlags.webhookSecret == "from-flag")
        #expect(!fromFlags.webhookAllowPrivateTargets)
        #expect(fromFlags.webhookTimeoutSeconds == 7)
        #expect(try ServerConfiguration.resolve(flags: ["webhook-secret": ""], environment: [:]).webhookSecret == nil)
    }

    @Test("nonsense is refused with the setting's name", arguments: [
        ("webhook-timeout", "0"), ("webhook-timeout", "soon"), ("webhook-max-attempts", "0"),
        ("webhook-retry-base-seconds", "-1"), ("webhook-retry-max-seconds", "inf"), ("webhook-poll-seconds", "nan"),
        ("webhook-allow-private-targets", "maybe"),
    ])
    func invalid(name: String, value: String) {
        #expect {
            try ServerConfiguration.resolve(flags: [name: value], environment: [:])
        } throws: { error in
            "\(error)".contains(name)
        }
    }
}
