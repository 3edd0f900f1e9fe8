import Testing
@testable import TaskQueue

@Suite("Migration checksums")
struct MigrationChecksumTests {
    /// The SHA-256 of each released migration's SQL. Adding a migration means adding its line;
    /// a line here never changes, because databases that ran a migration never run it again.
    static let released: [Int: String] = [
        1: "8f879f09521159f78c403e0a54ab7569b184bfeaa2cba1b9326a011cd79783e6",
        2: "bc924652db981df21ec0a8c635cc50f7e2bc47fdaf9fe19bd29ba481f1177128",
        3: "c53a76c84fa095aa74aa40f6bab8996d0896b0676713a3c597514bdd8a08eea3",
        4: "5f713f076dc5afa34f75c09c6a206fafbe85c5dc2ad1bdb583f87d29d6ca993f",
        5: "15065d278aa0a637e84f399c584cae67695983e9402236e66c0d4233b43fb777",
        6: "1efa3a50e2401da815edcc6f372cb7b0c5a57eb20860c45995ceea81a5b7dba6",
        7: "5d447f93753f028adea28b0d617d296cc220db4262f45bc6d703bb6737bcc82e",
        8: "427a57f593d01114cdc571ddacb33a321726cd101cbf1c3b81968a221916d70f",
        9: "4041036f1d00148c7c113eaca66805584b54d1e8327857d09eb2ac87b940e591",
        10: "20ec2f6c2a18dbe2467de807b2ce2457412bf877587a5b4c137a59bb8296df70",
        11: "5fc763c1edb24a64a287bbfb1c6eef96eaf7c3e90301a8ea05109fb0077b07c9",
        12: "3e0005dad0a7b977ddcf5b47cf7dde7e73c2670b1102798e3a59abf5e586d95b",
        13: "4b4c0d8ef2d45e2d71082b893d86adce7df36e9092c381064590111cfdd4fc1d",
    ]

    @Test("every migration's SQL has the checksum pinned when it was released")
    func releasedMigrationsAreUnchanged() {
        for migration in SchemaMigrations.all {
            guard let pinned = Self.released[migration.version] else {
                Issue.record("""
                    migration \(migration.version) (\(migration.name)) has no pinned checksum: \
                    add \(migration.version): "\(migration.checksum)" to MigrationChecksumTests.released
                    """)
                continue
            }
            #expect(migration.checksum == pinned, """
                migration \(migration.version) (\(migration.name)) changed (checksum \(migration.checksum), \
                released as \(pinned)): a released migration never changes; add a new one
                """)
        }
    }

    @Test("no pinned migration is missing from the code")
    func pinnedMigrationsAreInTheCode() {
        let versions = Set(SchemaMigrations.all.map(\.version))
        for version in Self.released.keys.sorted() {
            #expect(versions.contains(version), "migration \(version) was released but is no longer in SchemaMigrations.all")
        }
    }

    @Test("a checksum is the SHA-256 of the SQL's UTF-8 bytes in lowercase hex")
    func checksumIsSHA256Hex() {
        // FIPS 180-2's test vector for "abc".
        let migration = SchemaMigration(version: 0, name: "test vector", sql: "abc")
        #expect(migration.checksum == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let changedByOneSpace = SchemaMigration(version: 0, name: "test vector", sql: "abc ")
        #expect(changedByOneSpace.checksum != migration.checksum)
    }
}
