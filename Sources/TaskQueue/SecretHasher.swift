import Crypto
import Foundation

/// Salted hashes of generated secrets, and constant-time comparison.
///
/// The secrets are random tokens of over 260 bits made by `SecretHasher.generateToken`, never
/// passwords a person chose, so a fast hash is as strong as a slow one here and keeps
/// per-request verification cheap. A per-secret salt keeps equal secrets from having equal hashes.
public enum SecretHasher {
    /// The alphabet of generated tokens: safe in URLs, headers and shell lines.
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")

    /// A random token of `length` characters from a 62-letter alphabet (system CSPRNG).
    public static func generateToken(length: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return String((0..<length).map { _ in alphabet[Int(generator.next(upperBound: UInt64(alphabet.count)))] })
    }

    /// 16 random bytes.
    public static func generateSalt() -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<16).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }

    /// SHA-256 of salt followed by the secret's UTF-8 bytes.
    public static func hash(secret: String, salt: [UInt8]) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: salt)
        hasher.update(data: Array(secret.utf8))
        return Array(hasher.finalize())
    }

    /// Whether `secret` matches `expectedHash`, in time independent of where they differ.
    public static func verify(secret: String, salt: [UInt8], expectedHash: [UInt8]) -> Bool {
        constantTimeEquals(hash(secret: secret, salt: salt), expectedHash)
    }

    /// Compares two byte strings without an early exit.
    public static func constantTimeEquals(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        guard lhs.count == rhs.count else { return false }
        var difference: UInt8 = 0
        for index in lhs.indices { difference |= lhs[index] ^ rhs[index] }
        return difference == 0
    }
}
