import Foundation
import LoopbackHTTPClient
import TaskDispatchApp
import Testing

/// HTTPS through libmicrohttpd's own TLS: real curl and a real certificate authority made in
/// the test, plain HTTP on the TLS port refused cleanly, and credentials that cannot work
/// refused at start with a clear error.
@Suite("TLS")
struct TLSTests {
    /// `curl` with `arguments`: its exit code and what it printed (body, then `-w` output).
    static func curl(_ arguments: [String]) throws -> (exit: ChildExit, output: String) {
        let folder = try makeTemporaryFolder(prefix: "td-curl")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        return try ChildProcess.run(
            "/usr/bin/curl", ["--silent", "--show-error", "--max-time", "10"] + arguments, logPath: folder + "/curl.log")
    }

    @Test("curl with the CA's certificate gets answers over HTTPS; without it the handshake fails; plain HTTP on the port is closed cleanly and the server keeps serving")
    func httpsWithCurl() throws {
        let certificates = try TestCertificates.get()
        let server = try TestServer { $0.tls = try? certificates.serverCredentials() }
        defer { server.stop() }
        #expect(server.server.configuration.tls != nil)
        let base = "https://127.0.0.1:\(server.port)/ocs/v2.php/taskprocessing"
        guard case .user(let name, let password) = server.alice else { throw TestFailure("alice is a user") }

        let scheduled = try Self.curl([
            "--cacert", certificates.caCertificate, "-u", "\(name):\(password)", "-H", "OCS-APIRequest: true",
            "-H", "Content-Type: application/json", "-d", #"{"type":"core:text2text","input":{"input":"over TLS"},"appId":"tls"}"#,
            "-w", "\n%{http_code}", base + "/schedule",
        ])
        #expect(scheduled.exit == .exited(0), "\(scheduled.output)")
        #expect(scheduled.output.hasSuffix("\n200"), "\(scheduled.output)")
        #expect(scheduled.output.contains(#""input":"over TLS""#), "\(scheduled.output)")

        let untrusted = try Self.curl(["-o", "/dev/null", base + "/tasktypes"])
        #expect(untrusted.exit != .exited(0), "no trust without the CA: \(untrusted.output)")
        #expect(untrusted.output.lowercased().contains("certificate"), "\(untrusted.output)")

        // Plain HTTP to the TLS port: no HTTP answer, the connection just ends.
        let plain = LoopbackHTTPClient(port: server.port, timeoutSeconds: 5)
        defer { plain.close() }
        #expect(throws: (any Error).self) { try plain.send(method: "GET", path: "/ocs/v2.php/cloud/capabilities") }

        let again = try Self.curl(["--cacert", certificates.caCertificate, "-H", "OCS-APIRequest: true", "-o", "/dev/null", "-w", "%{http_code}",
                                   "https://127.0.0.1:\(server.port)/ocs/v2.php/cloud/capabilities?format=json"])
        #expect(again.output == "200", "still serving over TLS: \(again.output)")
    }

    @Test("an unreadable file, a key that does not match, an expired certificate, or only one of the two: a clear error at start", arguments: [
        ("unreadable certificate", "missing.pem", "server.key", ["cannot read the TLS certificate file", "missing.pem"]),
        ("unreadable key", "server.pem", "missing.key", ["cannot read the TLS key file", "missing.key"]),
        ("key of another certificate", "server.pem", "ca.key", ["do not match"]),
        ("expired certificate", "expired.pem", "server.key", ["expired at"]),
        ("not PEM", "san.cnf", "server.key", ["is not PEM"]),
        ("certificate without key", "server.pem", "", ["go together"]),
    ])
    func unusableCredentials(label: String, certificate: String, key: String, fragments: [String]) throws {
        let certificates = try TestCertificates.get()
        var flags = ["tls-cert": certificates.folder + "/" + certificate]
        if !key.isEmpty { flags["tls-key"] = certificates.folder + "/" + key }
        do {
            _ = try ServerConfiguration.resolve(flags: flags, environment: [:])
            Issue.record("\(label): accepted")
        } catch {
            let message = "\(error)"
            for fragment in fragments {
                #expect(message.contains(fragment), "\(label): \(message)")
            }
            #expect(message.contains("--tls-cert"), "names the setting: \(message)")
            #expect(!message.contains("PRIVATE KEY"), "never prints the key")
        }
    }
}
