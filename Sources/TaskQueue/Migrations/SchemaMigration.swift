import Crypto

/// One versioned change of the database schema.
public struct SchemaMigration: Sendable {
    public let version: Int
    public let name: String
    public let sql: String

    /// The SHA-256 of ``sql`` (UTF-8) in lowercase hex: what ``SchemaMigrator`` records when it
    /// applies the migration and compares on every later run.
    public var checksum: String {
        SHA256.hash(data: Array(sql.utf8)).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}
