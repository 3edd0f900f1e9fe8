/// Who is calling.
public enum Principal: Sendable, Equatable {
    /// A person, through an app holding one of their app passwords.
    case user(name: String, isAdmin: Bool)
    /// An external app (worker or consumer), optionally acting for a user.
    case exApp(appID: String, userID: String?)

    /// The user whose tasks this caller sees, if any.
    public var userID: String? {
        switch self {
        case .user(let name, _): name
        case .exApp(_, let userID): userID
        }
    }

    /// The ExApp calling, if an ExApp is.
    public var exAppID: String? {
        if case .exApp(let appID, _) = self { return appID }
        return nil
    }

    /// A name for logs; carries no secret.
    public var logDescription: String {
        switch self {
        case .user(let name, _): "user:\(name)"
        case .exApp(let appID, let userID): "app:\(appID)" + (userID.map { " for \($0)" } ?? "")
        }
    }
}
