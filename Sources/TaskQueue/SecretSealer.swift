import Crypto
import Foundation

/// Seals the secrets the server must present again, in clear, to someone else: an ExApp's
/// secret, which its trigger calls carry (AppAPI's `AUTHORIZATION-APP-API`) and which the
/// stored hash cannot give back.
///
/// AES-256-GCM under a key kept in a file outside the database (`--secret-key-file`), so a
/// copy of the database alone reveals no secret. The app id is authenticated with the
/// ciphertext, so a sealed secret copied to another app's row does not open.
public struct SecretSealer: Sendable {
    /// The key's length in bytes.
    public static let keyLength = 32
    /// Marks the format of a sealed value: a version byte, then nonce, ciphertext and tag.
    private static let formatVersion: UInt8 = 1

    public enum Failure: Error, Equatable, CustomStringConvertible {
        case badKeyLength(Int)
        /// The value was sealed under another key, for another app, or was altered.
        case cannotOpen

        public var description: String {
            switch self {
            case .badKeyLength(let length): "a secret key must be \(SecretSealer.keyLength) bytes, not \(length)"
            case .cannotOpen:
                "the sealed secret does not open with this key (sealed under another --secret-key-file, or altered)"
            }
        }
    }

    /// The key's bytes (`SymmetricKey` is not `Sendable`; one is made per use).
    private let keyBytes: [UInt8]
    private var key: SymmetricKey { SymmetricKey(data: keyBytes) }

    public init(key: [UInt8]) throws(Failure) {
        guard key.count == Self.keyLength else { throw .badKeyLength(key.count) }
        self.keyBytes = key
    }

    /// A new random key.
    public static func generateKey() -> [UInt8] {
        SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }
    }

    /// `secret` sealed for the app `appID`.
    public func seal(_ secret: String, appID: String) -> [UInt8] {
        // Sealing fails only for nonce or key sizes that cannot occur here.
        let box = try! AES.GCM.seal(Array(secret.utf8), using: key, authenticating: Array(appID.utf8))
        return [Self.formatVersion] + Array(box.combined!)
    }

    /// The secret sealed for `appID`.
    public func open(_ sealed: [UInt8], appID: String) throws(Failure) -> String {
        guard sealed.first == Self.formatVersion,
            let box = try? AES.GCM.SealedBox(combined: sealed.dropFirst()),
            let plain = try? AES.GCM.open(box, using: key, authenticating: Array(appID.utf8)),
            let secret = String(bytes: plain, encoding: .utf8)
        else { throw .cannotOpen }
        return secret
    }
}
