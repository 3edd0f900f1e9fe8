import Foundation
import MicroHTTP

/// A certificate authority and certificates it signed for 127.0.0.1, ::1 and localhost, made
/// once per test process with Debian's openssl: a valid one, an expired one, and a stranger's key.
struct TestCertificates: Sendable {
    let folder: String
    var caCertificate: String { folder + "/ca.pem" }
    var serverCertificate: String { folder + "/server.pem" }
    var serverKey: String { folder + "/server.key" }
    var expiredCertificate: String { folder + "/expired.pem" }
    /// A key that belongs to no certificate here.
    var otherKey: String { folder + "/ca.key" }

    static let shared: Result<TestCertificates, ChildProcessError> = Result { () throws(ChildProcessError) in
        try make()
    }

    static func get() throws -> TestCertificates { try shared.get() }

    private static func make() throws(ChildProcessError) -> TestCertificates {
        let folder: String
        do { folder = try makeTemporaryFolder(prefix: "td-tls") } catch { throw ChildProcessError(description: "\(error)") }
        let steps: [[String]] = [
            ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
             "-days", "2", "-subj", "/CN=TaskDispatch test CA"],
            ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "server.key", "-out", "server.csr",
             "-subj", "/CN=127.0.0.1"],
            ["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.pem",
             "-days", "2", "-extfile", "san.cnf"],
            ["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-out", "expired.pem", "-days", "-1",
             "-extfile", "san.cnf"],
        ]
        do {
            try "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\n".write(toFile: folder + "/san.cnf", atomically: true, encoding: .utf8)
            for step in steps {
                let (exit, output) = try ChildProcess.run(
                    "/bin/sh", ["-c", "cd '\(folder)' && exec openssl \"$@\"", "openssl"] + step, logPath: folder + "/openssl.log")
                guard exit == .exited(0) else { throw ChildProcessError(description: "openssl \(step[0]) failed: \(output)") }
            }
        } catch let error as ChildProcessError {
            throw error
        } catch {
            throw ChildProcessError(description: "\(error)")
        }
        return TestCertificates(folder: folder)
    }

    /// The server's certificate and key, loaded as `--tls-cert` and `--tls-key` load them.
    func serverCredentials() throws -> TLSCredentials {
        try TLSCredentials.load(certificateFile: serverCertificate, keyFile: serverKey)
    }
}
