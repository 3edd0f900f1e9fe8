import CGnuTLS
import Glibc

/// How a client speaks TLS: whose certificates it trusts and which name it expects.
public struct TLSClientConfiguration: Sendable {
    /// The name the server's certificate must carry (a DNS name or an IP address); also sent
    /// as SNI when it is a DNS name.
    public var serverName: String
    /// A PEM file of certificate authorities to trust, besides or instead of the system's.
    public var trustFile: String?
    /// Whether the system's certificate authorities are trusted too.
    public var trustsSystemAuthorities: Bool

    public init(serverName: String, trustFile: String? = nil, trustsSystemAuthorities: Bool = true) {
        self.serverName = serverName
        self.trustFile = trustFile
        self.trustsSystemAuthorities = trustsSystemAuthorities
    }
}

/// A GnuTLS client session over a connected, non-blocking socket: the handshake verifies the
/// server's certificate chain and name, then records carry the HTTP bytes. Owns the session
/// and its credentials.
final class TLSClientSession {
    private let session: gnutls_session_t
    private let credentials: gnutls_certificate_credentials_t
    /// The name to verify, as a C string that lives as long as the session: GnuTLS keeps the
    /// pointer it is given, without a copy (a temporary one made for the call dangles, and
    /// verification then compares against whatever the memory holds by then).
    private let expectedName: UnsafeMutablePointer<CChar>

    /// Performs the handshake on `descriptor` before `deadline`.
    init(descriptor: Int32, configuration: TLSClientConfiguration, deadline: Deadline) throws(LoopbackHTTPError) {
        var credentials: gnutls_certificate_credentials_t?
        try Self.check(gnutls_certificate_allocate_credentials(&credentials), .connectFailed, "allocating TLS credentials")
        guard let credentials else { throw LoopbackHTTPError(.connectFailed, "no TLS credentials") }
        var session: gnutls_session_t?
        let created = gnutls_init(&session, UInt32(GNUTLS_CLIENT) | UInt32(GNUTLS_NONBLOCK))
        guard created >= 0, let session else {
            gnutls_certificate_free_credentials(credentials)
            throw LoopbackHTTPError(.connectFailed, "gnutls_init: \(Self.text(created))")
        }
        self.session = session
        self.credentials = credentials
        expectedName = strdup(configuration.serverName)

        if configuration.trustsSystemAuthorities {
            try Self.check(gnutls_certificate_set_x509_system_trust(credentials), .connectFailed, "loading the system's CAs")
        }
        if let trustFile = configuration.trustFile {
            try Self.check(
                gnutls_certificate_set_x509_trust_file(credentials, trustFile, GNUTLS_X509_FMT_PEM), .connectFailed,
                "loading \(trustFile)")
        }
        try Self.check(gnutls_set_default_priority(session), .connectFailed, "setting TLS priorities")
        try Self.check(gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE, UnsafeMutableRawPointer(credentials)), .connectFailed, "setting TLS credentials")
        let name = configuration.serverName
        if !Self.isAddress(name) {
            try Self.check(gnutls_server_name_set(session, GNUTLS_NAME_DNS, name, name.utf8.count), .connectFailed, "setting SNI")
        }
        // The chain must lead to a trusted authority and name `serverName` (as DNS name or IP).
        gnutls_session_set_verify_cert(session, expectedName, 0)
        gnutls_transport_set_int2(session, descriptor, descriptor)

        while true {
            let result = gnutls_handshake(session)
            if result >= 0 { return }
            guard result == GNUTLS_E_AGAIN || result == GNUTLS_E_INTERRUPTED else {
                throw LoopbackHTTPError(.connectFailed, "TLS handshake with \(name): \(Self.verificationText(session, result))")
            }
            try waitForDirection(descriptor, before: deadline, doing: "the TLS handshake")
        }
    }

    deinit {
        gnutls_deinit(session)
        gnutls_certificate_free_credentials(credentials)
        free(expectedName)
    }

    /// Whether decrypted bytes wait inside GnuTLS: then a read needs no wait on the socket.
    var hasPendingBytes: Bool { gnutls_record_check_pending(session) > 0 }

    /// Sends some of `bytes`; the number sent, 0 when the socket would block.
    func send(_ bytes: UnsafeRawBufferPointer) throws(LoopbackHTTPError) -> Int {
        let sent = gnutls_record_send(session, bytes.baseAddress, bytes.count)
        if sent >= 0 { return sent }
        if sent == GNUTLS_E_AGAIN || sent == GNUTLS_E_INTERRUPTED { return 0 }
        throw LoopbackHTTPError(.sendFailed, "TLS: \(Self.text(Int32(sent)))")
    }

    /// Receives into `space`; nil when the socket would block, 0 at the end of the stream.
    func receive(_ space: UnsafeMutableRawBufferPointer) throws(LoopbackHTTPError) -> Int? {
        let received = gnutls_record_recv(session, space.baseAddress, space.count)
        if received >= 0 { return received }
        if received == GNUTLS_E_AGAIN || received == GNUTLS_E_INTERRUPTED { return nil }
        // A peer that closes without close_notify ends the stream all the same.
        if received == GNUTLS_E_PREMATURE_TERMINATION { return 0 }
        throw LoopbackHTTPError(.receiveFailed, "TLS: \(Self.text(Int32(received)))")
    }

    /// During the handshake GnuTLS may wait to write or to read; it says which.
    private func waitForDirection(_ descriptor: Int32, before deadline: Deadline, doing activity: String) throws(LoopbackHTTPError) {
        let events = gnutls_record_get_direction(session) == 1 ? Int16(POLLOUT) : Int16(POLLIN)
        var descriptorPoll = pollfd(fd: descriptor, events: events, revents: 0)
        let ready = poll(&descriptorPoll, 1, deadline.remainingMilliseconds)
        if ready == 0 { throw LoopbackHTTPError(.timedOut, "timed out in \(activity)") }
        if ready < 0 && errno != EINTR { throw LoopbackHTTPError(.connectFailed, errnoText(errno)) }
    }

    private static func check(_ code: Int32, _ kind: LoopbackHTTPError.Kind, _ doing: String) throws(LoopbackHTTPError) {
        guard code < 0 else { return }
        throw LoopbackHTTPError(kind, "\(doing): \(text(code))")
    }

    private static func text(_ code: Int32) -> String {
        gnutls_strerror(code).map { String(cString: $0) } ?? "GnuTLS error \(code)"
    }

    /// For a failed verification, why the certificate was refused.
    private static func verificationText(_ session: gnutls_session_t, _ code: Int32) -> String {
        guard code == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR else { return text(code) }
        let status = gnutls_session_get_verify_cert_status(session)
        var explanation = gnutls_datum_t()
        guard gnutls_certificate_verification_status_print(status, gnutls_certificate_type_get(session), &explanation, 0) >= 0,
            let data = explanation.data
        else { return text(code) }
        defer { CGnuTLS_free(data) }
        return String(decoding: UnsafeBufferPointer(start: data, count: Int(explanation.size)), as: UTF8.self)
    }

    private static func isAddress(_ name: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, name, &v4) == 1 || inet_pton(AF_INET6, name, &v6) == 1
    }
}
