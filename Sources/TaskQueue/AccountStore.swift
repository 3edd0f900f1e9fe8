import Postgres

/// A person's account. Apps act for users with the user's app passwords.
public struct UserAccount: Sendable, Equatable {
    public var name: String
    public var isAdmin: Bool

    public init(name: String, isAdmin: Bool) {
        self.name = name
        self.isAdmin = isAdmin
    }
}

/// Users, their app passwords, and ExApps, stored as salted hashes only.
///
/// An app password is a 44-character token: a 12-character public id that finds its row (so a
/// Bearer token needs no user name) followed by a 32-character secret. The whole token is hashed.
public struct AccountStore: Sendable, PooledStore {
    static let passwordIDLength = 12
    static let passwordLength = 44
    static let appSecretLength = 48

    let pool: PostgresConnectionPool

    public init(pool: PostgresConnectionPool) {
        self.pool = pool
    }

    /// The dashboard's sessions, in the same database.
    public var dashboardSessions: DashboardSessionStore { DashboardSessionStore(pool: pool) }

    /// What a unique violation means where accounts are inserted: a concurrent insert of the
    /// same name won (or, vanishingly rarely, a generated password id collided).
    private static func alreadyExists(_ error: PostgresError) -> StoreError {
        .accountAlreadyExists(error.detail ?? "the name")
    }

    /// Letters, digits and `_ . @ -`, 1 to 64 characters: what Nextcloud allows in user and app ids.
    static func validate(name: String, what: String) throws(StoreError) {
        let allowed = name.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == 0x5F || byte == 0x2E || byte == 0x40 || byte == 0x2D
        }
        guard allowed, (1...64).contains(name.utf8.count) else {
            throw .invalidAccountName("\(what) must be 1 to 64 letters, digits or _ . @ -")
        }
    }

    // MARK: Users

    /// Creates a user and a first app password, which is returned once and never stored in clear.
    public func addUser(name: String, isAdmin: Bool) throws(StoreError) -> (user: UserAccount, appPassword: String) {
        try Self.validate(name: name, what: "a user name")
        let token = SecretHasher.generateToken(length: Self.passwordLength)
        let salt = SecretHasher.generateSalt()
        try withConnection(onUniqueViolation: Self.alreadyExists) { connection in
            try connection.transaction { connection in
                let inserted = try connection.query(
                    "INSERT INTO users (name, is_admin) VALUES (\(bind: name), \(bind: isAdmin)) ON CONFLICT (name) DO NOTHING")
                guard inserted.affectedRows == 1 else { throw StoreError.accountAlreadyExists(name) }
                let (id, hash) = (String(token.prefix(Self.passwordIDLength)), SecretHasher.hash(secret: token, salt: salt))
                _ = try connection.query(
                    "INSERT INTO app_passwords (id, user_name, salt, hash) VALUES (\(bind: id), \(bind: name), \(bind: salt), \(bind: hash))")
            }
        }
        return (UserAccount(name: name, isAdmin: isAdmin), token)
    }

    /// Adds another app password to an existing user.
    public func addAppPassword(userName: String) throws(StoreError) -> String {
        let token = SecretHasher.generateToken(length: Self.passwordLength)
        let salt = SecretHasher.generateSalt()
        try withConnection(onUniqueViolation: Self.alreadyExists) { connection in
            let inserted = try connection.query(
                """
                INSERT INTO app_passwords (id, user_name, salt, hash)
                SELECT \(bind: String(token.prefix(Self.passwordIDLength))), name, \(bind: salt),
                       \(bind: SecretHasher.hash(secret: token, salt: salt))
                FROM users WHERE name = \(bind: userName)
                """)
            guard inserted.affectedRows == 1 else { throw StoreError.accountNotFound(userName) }
        }
        return token
    }

    public func users() throws(StoreError) -> [UserAccount] {
        try withConnection { connection in
            try connection.query("SELECT name, is_admin FROM users ORDER BY name").rows.compactMap { row in
                row.string("name").map { UserAccount(name: $0, isAdmin: row.bool("is_admin") ?? false) }
            }
        }
    }

    public func user(named name: String) throws(StoreError) -> UserAccount? {
        try withConnection { connection in
            try connection.query("SELECT name, is_admin FROM users WHERE name = \(bind: name)").rows.first.map { row in
                UserAccount(name: name, isAdmin: row.bool("is_admin") ?? false)
            }
        }
    }

    public func removeUser(name: String) throws(StoreError) {
        try withConnection { connection in
            guard try connection.query("DELETE FROM users WHERE name = \(bind: name)").affectedRows == 1 else {
                throw StoreError.accountNotFound(name)
            }
        }
    }

    /// The user an app password belongs to, if it is valid (and, when `userName` is given, that user's).
    public func authenticateUser(userName: String?, appPassword token: String) throws(StoreError) -> UserAccount? {
        guard token.utf8.count == Self.passwordLength else { return nil }
        return try withConnection { connection in
            let rows = try connection.query(
                """
                SELECT p.salt, p.hash, u.name, u.is_admin
                FROM app_passwords p JOIN users u ON u.name = p.user_name
                WHERE p.id = \(bind: String(token.prefix(Self.passwordIDLength)))
                """
            ).rows
            guard let row = rows.first, let salt = row.bytes("salt"), let hash = row.bytes("hash"),
                let name = row.string("name"),
                SecretHasher.verify(secret: token, salt: salt, expectedHash: hash),
                userName == nil || userName == name
            else { return nil }
            return UserAccount(name: name, isAdmin: row.bool("is_admin") ?? false)
        }
    }

    // MARK: ExApps

    /// Registers an ExApp and returns its secret, once.
    public func addApp(appID: String) throws(StoreError) -> String {
        try Self.validate(name: appID, what: "an app id")
        let secret = SecretHasher.generateToken(length: Self.appSecretLength)
        let salt = SecretHasher.generateSalt()
        try withConnection(onUniqueViolation: Self.alreadyExists) { connection in
            let inserted = try connection.query(
                """
                INSERT INTO ex_apps (app_id, salt, secret_hash)
                VALUES (\(bind: appID), \(bind: salt), \(bind: SecretHasher.hash(secret: secret, salt: salt)))
                ON CONFLICT (app_id) DO NOTHING
                """)
            guard inserted.affectedRows == 1 else { throw StoreError.accountAlreadyExists(appID) }
        }
        return secret
    }

    public func apps() throws(StoreError) -> [(appID: String, enabled: Bool)] {
        try withConnection { connection in
            try connection.query("SELECT app_id, enabled FROM ex_apps ORDER BY app_id").rows.compactMap { row in
                row.string("app_id").map { ($0, row.bool("enabled") ?? false) }
            }
        }
    }

    public func removeApp(appID: String) throws(StoreError) {
        try withConnection { connection in
            guard try connection.query("DELETE FROM ex_apps WHERE app_id = \(bind: appID)").affectedRows == 1 else {
                throw StoreError.accountNotFound(appID)
            }
        }
    }

    /// Whether `secret` is the secret of the enabled ExApp `appID`.
    public func authenticateApp(appID: String, secret: String) throws(StoreError) -> Bool {
        try withConnection { connection in
            let rows = try connection.query(
                "SELECT salt, secret_hash FROM ex_apps WHERE app_id = \(bind: appID) AND enabled"
            ).rows
            guard let row = rows.first, let salt = row.bytes("salt"), let hash = row.bytes("secret_hash") else {
                return false
            }
            return SecretHasher.verify(secret: secret, salt: salt, expectedHash: hash)
        }
    }
}
