import Postgres

/// Whose tasks a caller sees on the task routes. Ownership is explicit so that tasks with no
/// user (scheduled by an ExApp acting for nobody) belong to that app alone, and never to a
/// user or another app.
public enum TaskOwner: Sendable, Equatable {
    /// A user's tasks (`user_id = name`), whichever app scheduled them.
    case user(String)
    /// The tasks an ExApp scheduled for no user (`user_id IS NULL AND app_id = appID`).
    case app(String)

    /// The user id the owner's tasks carry; nil for an app.
    public var userID: String? {
        if case .user(let name) = self { return name }
        return nil
    }

    /// The app id that owns tasks without a user; nil for a user.
    public var appID: String? {
        if case .app(let appID) = self { return appID }
        return nil
    }

    /// The SQL condition selecting the rows of the owner with this user id or app id (exactly
    /// one of which is non-null). `table` qualifies the columns where a join makes them ambiguous.
    static func condition(userID: String?, appID: String?, table: String? = nil) -> PostgresQuery {
        let prefix = table.map { "\($0)." } ?? ""
        return """
            CASE WHEN \(bind: userID)::text IS NOT NULL THEN \(unescaped: prefix)user_id = \(bind: userID) \
            ELSE \(unescaped: prefix)user_id IS NULL AND \(unescaped: prefix)app_id = \(bind: appID)::text END
            """
    }

    /// The SQL condition selecting this owner's rows.
    func condition(table: String? = nil) -> PostgresQuery {
        Self.condition(userID: userID, appID: appID, table: table)
    }
}
