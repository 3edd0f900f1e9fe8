import Foundation
import JSON
import Testing

/// https webhooks, to a local TLS receiver whose certificate comes from the test's own CA: the
/// sender verifies the chain (system CAs plus `--webhook-ca-file`) and the host name, by DNS
/// name (sent as SNI) and by IP address; an untrusted receiver gets nothing.
@Suite("https webhooks")
struct WebhookTLSTests {
    typealias Delivery = WebhookDeliveryTests

    static func server(trusting caFile: String?) throws -> TestServer {
        try TestServer { configuration in
            configuration.webhookPollSeconds = 3600
            configuration.webhookAllowPrivateTargets = true
            configuration.webhookSecret = Delivery.secret
            configuration.webhookRetryBaseSeconds = 0.05
            configuration.webhookRetryMaxSeconds = 0.2
            configuration.webhookMaxAttempts = 2
            configuration.webhookTimeoutSeconds = 5
            configuration.webhookCAFile = caFile
        }
    }

    @Test("a receiver whose CA is trusted gets every call, by name and by address, with the body and signature; GET carries the body too")
    func trustedReceiver() throws {
        let certificates = try TestCertificates.get()
        let receiver = try WebhookReceiver(tls: try certificates.serverCredentials())
        defer { receiver.stop() }
        let server = try Self.server(trusting: certificates.caCertificate)
        defer { server.stop() }
        let alice = server.client(server.alice)
        let worker = server.client(server.worker)

        let byName = try Delivery.schedule(alice, uri: receiver.url("/by-name", host: "localhost"), method: "HTTP:POST")
        let byAddress = try Delivery.schedule(alice, uri: receiver.url("/by-address"), method: "HTTP:GET")
        #expect(try Delivery.finishNext(worker, ["output": ["output": "one"]]) == byName)
        #expect(try Delivery.finishNext(worker, ["output": ["output": "two"]]) == byAddress)

        #expect(receiver.waitUntil { Set($0.compactMap(\.taskID)) == [byName, byAddress] })
        #expect(try Delivery.waitForRows(server) { rows in rows.count == 2 && rows.values.allSatisfy { $0.status == "delivered" } })
        for call in receiver.calls {
            let id = try #require(call.taskID)
            #expect(call.method == (id == byName ? "POST" : "GET"))
            #expect(call.path == (id == byName ? "/by-name" : "/by-address"))
            let payload = try JSONValue.parse(call.body)
            #expect(payload["task"]?["id"]?.int64Value == id, "the task JSON, over TLS, on GET too")
            let timestamp = try #require(call.timestamp)
            #expect(call.signature == WebhookReceiver.expectedSignature(secret: Delivery.secret, timestamp: timestamp, body: call.body))
        }
    }

    @Test("a receiver whose certificate no trusted CA signed gets nothing; the delivery fails naming the certificate")
    func untrustedReceiver() throws {
        let certificates = try TestCertificates.get()
        let receiver = try WebhookReceiver(tls: try certificates.serverCredentials())
        defer { receiver.stop() }
        let server = try Self.server(trusting: nil)
        defer { server.stop() }
        let id = try Delivery.schedule(server.client(server.alice), uri: receiver.url("/hook", host: "localhost"), method: "HTTP:POST")
        #expect(try Delivery.finishNext(server.client(server.worker), ["output": ["output": "x"]]) == id)
        #expect(try Delivery.waitForRows(server) { rows in rows[id]?.status == "failed" })
        let row = try #require(try Delivery.deliveryRows(server)[id])
        #expect(row.lastError?.lowercased().contains("certificate") == true, "\(row.lastError ?? "")")
        #expect(receiver.calls.isEmpty, "no request reached the receiver")
    }
}
