import Foundation
import MicroHTTP
import TaskDispatchApp

/// A self-signed certificate for 127.0.0.1, made with openssl in a temporary folder for the
/// benchmark's HTTPS row; its load generator trusts exactly this certificate.
struct BenchCertificate {
    let folder: String
    /// The certificate, which is also the whole trust for the clients.
    var file: String { folder + "/certificate.pem" }
    var keyFile: String { folder + "/key.pem" }

    static func make() throws -> BenchCertificate {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("taskdispatch-bench-tls-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        let certificate = BenchCertificate(folder: folder)
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        openssl.arguments = [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", certificate.keyFile, "-out", certificate.file,
        ]
        openssl.standardOutput = FileHandle.nullDevice
        openssl.standardError = FileHandle.nullDevice
        do {
            try openssl.run()
        } catch {
            certificate.remove()
            throw BenchFailure("the HTTPS row needs openssl (Debian package openssl): \(error)")
        }
        openssl.waitUntilExit()
        guard openssl.terminationStatus == 0 else {
            certificate.remove()
            throw BenchFailure("openssl could not make the benchmark's certificate")
        }
        return certificate
    }

    func credentials() throws -> TLSCredentials {
        try TLSCredentials.load(certificateFile: file, keyFile: keyFile)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: folder)
    }
}
