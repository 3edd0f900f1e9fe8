import Crypto

/// The signature receivers check: `X-TaskDispatch-Signature: sha256=<hex>`, the HMAC-SHA256
/// under the shared secret of the `X-TaskDispatch-Timestamp` value, a `.`, and the body bytes.
/// Signing the timestamp lets receivers refuse old (replayed) calls.
public enum WebhookSignature {
    public static func sign(secret: String, timestamp: Int64, body: [UInt8]) -> String {
        var authenticator = HMAC<SHA256>(key: SymmetricKey(data: Array(secret.utf8)))
        authenticator.update(data: Array("\(timestamp).".utf8))
        authenticator.update(data: body)
        let mac = authenticator.finalize()
        return "sha256=" + mac.map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}
