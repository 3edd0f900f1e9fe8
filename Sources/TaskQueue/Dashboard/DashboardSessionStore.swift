import Crypto
import Postgres

/// A dashboard sign-in as the browser holds it: the cookie's token (given out once) and when
/// the session ends.
public struct DashboardSession: Sendable, Equatable {
    /// The random token the cookie carries; only its SHA-256 is stored.
    public var token: String
    public var userName: String
    /// Unix seconds.
    public var expiresAt: Int64
}

/// Administrators' browser sessions in PostgreSQL (`dashboard_sessions`), so that every server
/// process knows them: created at sign-in, looked up on each dashboard request (no cache, so a
/// sign-out or an expiry holds at once everywhere), deleted at sign-out and by housekeeping once
/// expired. The token is a 256-bit random string; the row holds its SHA-256, so a copy of the
/// database lets no one in.
public struct DashboardSessionStore: Sendable, PooledStore {
    /// Token characters (62-letter alphabet, about 5.95 bits each: 43 make over 256 bits).
    public static let tokenLength = 43

    let pool: PostgresConnectionPool

    public init(pool: PostgresConnectionPool) {
        self.pool = pool
    }

    /// The lookup key of a token.
    static func hash(_ token: String) -> [UInt8] {
        Array(SHA256.hash(data: Array(token.utf8)))
    }

    /// A new session for `userName`, ending `lifetimeSeconds` from now.
    public func create(userName: String, lifetimeSeconds: Int) throws(StoreError) -> DashboardSession {
        let token = SecretHasher.generateToken(length: Self.tokenLength)
        return try withConnection { connection in
            let row = try connection.query(
                """
                INSERT INTO dashboard_sessions (token_hash, user_name, expires_at)
                VALUES (\(bind: Self.hash(token)), \(bind: userName), now() + make_interval(secs => \(bind: lifetimeSeconds)))
                RETURNING extract(epoch FROM expires_at)::bigint AS expires_at
                """
            ).rows.first
            return DashboardSession(token: token, userName: userName, expiresAt: row?.int64("expires_at") ?? 0)
        }
    }

    /// The user of a live session (its account as it is now: a user no longer an
    /// administrator comes back with `isAdmin` false); nil for an unknown or expired token.
    public func user(forToken token: String) throws(StoreError) -> UserAccount? {
        guard token.utf8.count == Self.tokenLength else { return nil }
        return try withConnection { connection in
            guard
                let row = try connection.query(
                    """
                    SELECT users.name, users.is_admin
                    FROM dashboard_sessions JOIN users ON users.name = dashboard_sessions.user_name
                    WHERE dashboard_sessions.token_hash = \(bind: Self.hash(token)) AND dashboard_sessions.expires_at > now()
                    """
                ).rows.first, let name = row.string("name")
            else { return nil }
            return UserAccount(name: name, isAdmin: row.bool("is_admin") ?? false)
        }
    }

    /// Ends the session of `token` (sign-out); ending an unknown one does nothing.
    public func revoke(token: String) throws(StoreError) {
        try withConnection { connection in
            _ = try connection.query("DELETE FROM dashboard_sessions WHERE token_hash = \(bind: Self.hash(token))")
        }
    }

    /// Deletes expired sessions; returns how many.
    @discardableResult
    public func deleteExpired() throws(StoreError) -> Int {
        try withConnection { connection in
            let query: PostgresQuery = "DELETE FROM dashboard_sessions WHERE expires_at <= now()"
            return try connection.query(query).affectedRows
        }
    }
}
