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

    /// Registers an ExApp and returns its secret, once. With a `sealer` the secret is also kept
    /// sealed, so that trigger calls can present it (needed for a `baseURL`, now or later).
    public func addApp(appID: String, sealer: SecretSealer? = nil, baseURL: ExAppBaseURL? = nil) throws(StoreError) -> String {
        try Self.validate(name: appID, what: "an app id")
        guard baseURL == nil || sealer != nil else { throw StoreError.appSettingRefused("an ExApp URL needs the secret key file") }
        let secret = SecretHasher.generateToken(length: Self.appSecretLength)
        let salt = SecretHasher.generateSalt()
        let sealed = sealer?.seal(secret, appID: appID)
        try withConnection(onUniqueViolation: Self.alreadyExists) { connection in
            let inserted = try connection.query(
                """
                INSERT INTO ex_apps (app_id, salt, secret_hash, sealed_secret, base_url)
                VALUES (\(bind: appID), \(bind: salt), \(bind: SecretHasher.hash(secret: secret, salt: salt)), \(bind: sealed),
                    \(bind: baseURL?.text))
                ON CONFLICT (app_id) DO NOTHING
                """)
            guard inserted.affectedRows == 1 else { throw StoreError.accountAlreadyExists(appID) }
        }
        return secret
    }

    /// Sets (or, with nil, removes) the URL trigger calls go to. A URL needs the app's secret
    /// sealed: kept from `addApp`, or `secret` given here (checked against the stored hash, then
    /// sealed with `sealer`).
    public func setAppURL(appID: String, url: ExAppBaseURL?, secret: String? = nil, sealer: SecretSealer? = nil) throws(StoreError) {
        try withConnection { connection in
            try connection.transaction { connection in
                let rows = try connection.query(
                    "SELECT salt, secret_hash, sealed_secret IS NOT NULL AS sealed FROM ex_apps WHERE app_id = \(bind: appID) FOR UPDATE"
                ).rows
                guard let row = rows.first, let salt = row.bytes("salt"), let hash = row.bytes("secret_hash") else {
                    throw StoreError.accountNotFound(appID)
                }
                var sealed: [UInt8]? = nil
                if let secret {
                    guard SecretHasher.verify(secret: secret, salt: salt, expectedHash: hash) else {
                        throw StoreError.appSettingRefused("that is not the secret of app '\(appID)'")
                    }
                    guard let sealer else { throw StoreError.appSettingRefused("sealing a secret needs the secret key file") }
                    sealed = sealer.seal(secret, appID: appID)
                } else if url != nil, row.bool("sealed") != true {
                    throw StoreError.appSettingRefused(
                        "app '\(appID)' was registered without a sealed secret: give its secret on standard input (--secret-stdin)")
                }
                try connection.query(
                    """
                    UPDATE ex_apps SET base_url = \(bind: url?.text), sealed_secret = coalesce(\(bind: sealed), sealed_secret)
                    WHERE app_id = \(bind: appID)
                    """)
            }
        }
    }

    /// Every ExApp, by id.
    public func apps() throws(StoreError) -> [ExAppSummary] {
        try withConnection { connection in
            try connection.query(
                """
                SELECT app_id, enabled, base_url, sealed_secret IS NOT NULL AS sealed,
                    (extract(epoch FROM last_triggered_at))::bigint AS last_triggered_at
                FROM ex_apps ORDER BY app_id
                """
            ).rows.compactMap { row in
                row.string("app_id").map {
                    ExAppSummary(
                        appID: $0, enabled: row.bool("enabled") ?? false, baseURL: row.string("base_url"),
                        hasSealedSecret: row.bool("sealed") ?? false, lastTriggeredAt: row.int64("last_triggered_at"))
                }
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

/// An ExApp as the `app list` command shows it.
public struct ExAppSummary: Sendable, Equatable {
    public let appID: String
    public let enabled: Bool
    /// Where trigger calls go; nil: never called.
    public let baseURL: String?
    /// Whether its secret is kept sealed, so that trigger calls can present it.
    public let hasSealedSecret: Bool
    /// The last trigger call it answered with a 2xx (seconds since 1970).
    public let lastTriggeredAt: Int64?
}
