import Testing
import TaskQueue

@Suite("Webhook targets: SSRF address classes, URI checks, backoff")
struct WebhookTargetTests {
    static let addresses: [(String, WebhookAddressCategory)] = [
        ("8.8.8.8", .public), ("1.1.1.1", .public), ("93.184.216.34", .public),
        ("127.0.0.1", .loopback), ("127.255.255.254", .loopback), ("127.1", .loopback),
        ("2130706433", .loopback), ("0x7f000001", .loopback),
        ("10.0.0.1", .private), ("172.16.0.1", .private), ("172.31.255.255", .private), ("192.168.1.1", .private),
        ("172.15.0.1", .public), ("172.32.0.1", .public),
        ("169.254.169.254", .linkLocal), ("0.0.0.0", .unspecified), ("0.1.2.3", .unspecified),
        ("100.64.0.1", .sharedAddressSpace), ("100.127.255.255", .sharedAddressSpace), ("100.128.0.1", .public),
        ("224.0.0.1", .multicast), ("239.255.255.250", .multicast), ("255.255.255.255", .reserved),
        ("192.0.2.1", .reserved), ("198.18.0.1", .reserved),
        ("::1", .loopback), ("::", .unspecified), ("[::1]", .loopback),
        ("fc00::1", .private), ("fd12:3456::1", .private), ("fe80::1", .linkLocal), ("fec0::1", .private),
        ("ff02::1", .multicast), ("2001:db8::1", .reserved), ("2001::1", .reserved),
        ("::ffff:127.0.0.1", .loopback), ("::ffff:10.1.2.3", .private), ("::ffff:169.254.169.254", .linkLocal),
        ("::ffff:8.8.8.8", .public), ("::127.0.0.1", .loopback), ("64:ff9b::192.168.0.1", .private),
        ("2002:7f00:1::", .loopback), ("2002:0808:0808::", .public),
        ("2606:4700:4700::1111", .public), ("2a00:1450:4001::200e", .public),
    ]

    @Test("every address lands in its class", arguments: addresses)
    func classification(literal: String, expected: WebhookAddressCategory) throws {
        let address = try #require(WebhookAddress(literal: literal), "\(literal) did not parse")
        #expect(address.category == expected, "\(literal) → \(address) is \(address.category), expected \(expected)")
    }

    @Test("names are not literals")
    func namesAreNotLiterals() {
        for name in ["example.com", "localhost", "10.0.0.1.nip.io", "deadbeef.example", ""] {
            #expect(WebhookAddress(literal: name) == nil, "\(name)")
        }
    }

    @Test("valid URIs parse into scheme, host, port, request target and method")
    func parsing() throws {
        let target = try WebhookTarget(uri: "https://hooks.example.com:8443/a/b?x=1&y=2", method: "HTTP:PUT", allowPrivateTargets: false)
        #expect(target.scheme == .https)
        #expect(target.host == "hooks.example.com")
        #expect(target.port == 8443)
        #expect(target.requestTarget == "/a/b?x=1&y=2")
        #expect(target.httpMethod == "PUT")
        #expect(target.hostHeader == "hooks.example.com:8443")

        let plain = try WebhookTarget(uri: "http://Example.COM", method: nil, allowPrivateTargets: false)
        #expect(plain.port == 80)
        #expect(plain.requestTarget == "/")
        #expect(plain.httpMethod == "POST")
        #expect(plain.hostHeader == "example.com")

        let v6 = try WebhookTarget(uri: "http://[::1]:9000/hook", method: "HTTP:GET", allowPrivateTargets: true)
        #expect(v6.host == "::1")
        #expect(v6.hostHeader == "[::1]:9000")
        #expect(v6.literalCategory == .loopback)
    }

    static let refused: [(String, String?, String)] = [
        ("ftp://example.com/", nil, "http or https"),
        ("file:///etc/passwd", nil, "http or https"),
        ("gopher://example.com/", nil, "http or https"),
        ("not a url", nil, "valid URL"),
        ("http://", nil, "host"),
        ("http://user:secret@example.com/", nil, "credentials"),
        ("http://127.0.0.1:8080/", nil, "loopback"),
        ("http://localhost/", nil, "loopback"),
        ("http://api.localhost/", nil, "loopback"),
        ("http://[::1]/", nil, "loopback"),
        ("http://169.254.169.254/latest/meta-data/", nil, "linkLocal"),
        ("http://10.0.0.5/", nil, "private"),
        ("http://[::ffff:192.168.0.1]/", nil, "private"),
        ("http://2130706433/", nil, "loopback"),
        ("http://example.com/", "HTTP:PATCH", "HTTP:GET, HTTP:POST"),
        ("http://example.com/", "AppAPI:myapp:POST", "AppAPI"),
        ("http://example.com/", "POST", "HTTP:GET"),
    ]

    @Test("bad URIs and methods are refused with a reason", arguments: refused)
    func refusals(uri: String, method: String?, reason: String) {
        do {
            _ = try WebhookTarget(uri: uri, method: method, allowPrivateTargets: false)
            Issue.record("\(uri) \(method ?? "-") was accepted")
        } catch {
            #expect(error.message.contains(reason), "\(uri): '\(error.message)' does not mention '\(reason)'")
        }
    }

    @Test("private targets pass when the operator allows them")
    func allowance() throws {
        for uri in ["http://127.0.0.1:8080/", "http://localhost/", "http://10.0.0.5/", "http://[fe80::1]/"] {
            _ = try WebhookTarget(uri: uri, method: "HTTP:POST", allowPrivateTargets: true)
        }
    }

    @Test("backoff doubles from the base, is capped, and jitter keeps it within [half, full]")
    func backoff() {
        let policy = WebhookRetryPolicy(maxAttempts: 10, baseDelaySeconds: 10, maxDelaySeconds: 300)
        #expect(policy.delaySeconds(afterAttempt: 1, jitter: 1) == 10)
        #expect(policy.delaySeconds(afterAttempt: 2, jitter: 1) == 20)
        #expect(policy.delaySeconds(afterAttempt: 3, jitter: 1) == 40)
        #expect(policy.delaySeconds(afterAttempt: 6, jitter: 1) == 300)
        #expect(policy.delaySeconds(afterAttempt: 1000, jitter: 1) == 300)
        #expect(policy.delaySeconds(afterAttempt: 1, jitter: 0) == 5)
        #expect(policy.delaySeconds(afterAttempt: 3, jitter: 0.5) == 30)
        #expect(policy.delaySeconds(afterAttempt: 0, jitter: 1) == 10)
        for attempt in 1...20 {
            let delay = policy.delaySeconds(afterAttempt: attempt, jitter: Double.random(in: 0...1))
            #expect(delay >= 5 && delay <= 300)
        }
    }
}
