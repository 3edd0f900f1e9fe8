import CGnuTLS
import Glibc
import class Foundation.FileManager

/// A certificate chain and its private key (PEM) for serving HTTPS, checked when loaded so that
/// a server never starts with credentials it cannot use: both must parse, the key must belong to
/// the certificate, and the certificate must be valid now.
public struct TLSCredentials: Sendable, Equatable, CustomStringConvertible {
    /// The server's certificate first, then any intermediates.
    public let certificateChainPEM: String
    public let privateKeyPEM: String
    /// Unix time after which the server's certificate is no longer valid.
    public let notAfter: Int

    /// Never the key: configurations are printed in logs and test failures.
    public var description: String { "TLSCredentials(certificate valid until \(Self.utc(time_t(notAfter))), key hidden)" }

    /// Reads and checks the two files; the error names the file and what is wrong with it.
    public static func load(certificateFile: String, keyFile: String) throws(HTTPServerError) -> TLSCredentials {
        try TLSCredentials(
            certificateChainPEM: try readPEM(certificateFile, what: "TLS certificate"),
            privateKeyPEM: try readPEM(keyFile, what: "TLS key"),
            source: "\(certificateFile) with \(keyFile)")
    }

    /// Checks PEM text already in memory; `source` names it in errors.
    public init(certificateChainPEM: String, privateKeyPEM: String, source: String = "the TLS credentials") throws(HTTPServerError) {
        self.certificateChainPEM = certificateChainPEM
        self.privateKeyPEM = privateKeyPEM
        // GnuTLS loads them the way libmicrohttpd will: a key that does not match fails here.
        let credentials = try GnuTLSCredentials()
        try Self.withData(certificateChainPEM) { certificate throws(HTTPServerError) in
            try Self.withData(privateKeyPEM) { key throws(HTTPServerError) in
                try GnuTLSCall.run("load \(source)") {
                    gnutls_certificate_set_x509_key_mem2(credentials.handle, &certificate, &key, GNUTLS_X509_FMT_PEM, nil, 0)
                }
            }
        }
        let certificate = try GnuTLSCertificate(pem: certificateChainPEM, source: source)
        let now = time(nil)
        notAfter = Int(certificate.expiration)
        guard certificate.activation <= now else {
            throw .invalidTLSCredentials("\(source): the certificate is not valid before \(Self.utc(certificate.activation))")
        }
        guard certificate.expiration > now else {
            throw .invalidTLSCredentials("\(source): the certificate expired at \(Self.utc(certificate.expiration))")
        }
    }

    private static func readPEM(_ path: String, what: String) throws(HTTPServerError) -> String {
        guard let contents = FileManager.default.contents(atPath: path) else {
            throw .invalidTLSCredentials("cannot read the \(what) file \(path)")
        }
        guard let text = String(validating: contents, as: UTF8.self), text.contains("-----BEGIN ") else {
            throw .invalidTLSCredentials("the \(what) file \(path) is not PEM")
        }
        return text
    }

    /// `text` as a `gnutls_datum_t` for the length of `body`.
    fileprivate static func withData<T>(
        _ text: String, _ body: (inout gnutls_datum_t) throws(HTTPServerError) -> T
    ) throws(HTTPServerError) -> T {
        var bytes = Array(text.utf8)
        let count = bytes.count
        return try bytes.withUnsafeMutableBufferPointer { buffer throws(HTTPServerError) in
            var datum = gnutls_datum_t(data: buffer.baseAddress, size: UInt32(count))
            return try body(&datum)
        }
    }

    static func utc(_ time: time_t) -> String {
        var seconds = time
        var parts = tm()
        var text = [CChar](repeating: 0, count: 32)
        guard gmtime_r(&seconds, &parts) != nil, strftime(&text, text.count, "%Y-%m-%dT%H:%M:%SZ", &parts) > 0 else {
            return "unix time \(time)"
        }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// The one place where a failing GnuTLS call becomes an ``HTTPServerError``: GnuTLS answers a
/// negative code, whose text `gnutls_strerror` gives.
enum GnuTLSCall {
    static func run(_ operation: String, _ call: () -> Int32) throws(HTTPServerError) {
        let code = call()
        guard code < CGnuTLS_success() else { return }
        let reason = gnutls_strerror(code).map { String(cString: $0) } ?? "GnuTLS error \(code)"
        throw .invalidTLSCredentials("\(operation): \(reason)")
    }
}

/// Owns a `gnutls_certificate_credentials_t`.
private final class GnuTLSCredentials {
    let handle: gnutls_certificate_credentials_t

    init() throws(HTTPServerError) {
        var handle: gnutls_certificate_credentials_t?
        try GnuTLSCall.run("gnutls_certificate_allocate_credentials") { gnutls_certificate_allocate_credentials(&handle) }
        guard let handle else { throw .invalidTLSCredentials("gnutls_certificate_allocate_credentials gave no credentials") }
        self.handle = handle
    }

    deinit { gnutls_certificate_free_credentials(handle) }
}

/// Owns a `gnutls_x509_crt_t`: the first certificate of a PEM chain.
private final class GnuTLSCertificate {
    let handle: gnutls_x509_crt_t

    init(pem: String, source: String) throws(HTTPServerError) {
        var handle: gnutls_x509_crt_t?
        try GnuTLSCall.run("gnutls_x509_crt_init") { gnutls_x509_crt_init(&handle) }
        guard let handle else { throw .invalidTLSCredentials("gnutls_x509_crt_init gave no certificate") }
        self.handle = handle
        try TLSCredentials.withData(pem) { datum throws(HTTPServerError) in
            try GnuTLSCall.run("read the certificate of \(source)") { gnutls_x509_crt_import(handle, &datum, GNUTLS_X509_FMT_PEM) }
        }
    }

    deinit { gnutls_x509_crt_deinit(handle) }

    var activation: time_t { gnutls_x509_crt_get_activation_time(handle) }
    var expiration: time_t { gnutls_x509_crt_get_expiration_time(handle) }
}

/// ``TLSCredentials`` as the NUL-terminated strings libmicrohttpd takes, owned here.
final class TLSMaterial: Sendable {
    let certificateChain: CString
    let privateKey: CString

    init(_ credentials: TLSCredentials) {
        certificateChain = CString(credentials.certificateChainPEM)
        privateKey = CString(credentials.privateKeyPEM)
    }
}

/// A C copy of a string, freed with its owner.
final class CString: @unchecked Sendable {
    // Written once in init and only read (by C) after: safe to share.
    let pointer: UnsafeMutablePointer<CChar>

    init(_ text: String) {
        pointer = strdup(text)
    }

    deinit {
        // The key's copy is wiped before it goes back to the allocator.
        memset(pointer, 0, strlen(pointer))
        free(pointer)
    }
}
