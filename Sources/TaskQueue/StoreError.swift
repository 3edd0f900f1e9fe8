import Postgres

/// Why a store could not do what was asked: the database failed, a row was not what the schema
/// promises, or the store refused the change. Every store (tasks, providers, accounts, webhook
/// deliveries) throws this one type, so callers map it to an answer in one place.
public enum StoreError: Error, Sendable, CustomStringConvertible {
    // MARK: Failures of any store

    /// The database failed or is unreachable.
    case database(PostgresError)
    /// A row did not have the shape the schema promises.
    case corruptRow(String)

    // MARK: Tasks

    /// Input file ids that are not uploads of the task's owner waiting to be scheduled.
    case inputFilesUnavailable([Int64])

    // MARK: Providers and custom task types

    /// The task type is neither a core type nor a registered custom type.
    case unknownTaskType(String)
    /// The owning ExApp does not exist.
    case unknownApp(String)
    /// A custom type may not take a core type's id.
    case coreTaskType(String)
    /// The provider or custom type belongs to another app (or to the administrator).
    case ownedByOther(what: String, id: String)
    case providerNotFound(String)
    case taskTypeNotFound(String)
    /// The provider does not process that task type, so it cannot be its preferred provider.
    case providerNotForType(provider: String, taskType: String)
    /// The provider kept changing while it was being removed; nothing was removed.
    case changedConcurrently(String)
    /// A custom type still has providers; they must go first.
    case taskTypeInUse(String, providers: [String])

    // MARK: Accounts (users and ExApps)

    /// A user name or app id outside what Nextcloud allows; the value says why.
    case invalidAccountName(String)
    /// A user or ExApp of that name exists already.
    case accountAlreadyExists(String)
    /// No user or ExApp of that name.
    case accountNotFound(String)
    /// An ExApp's URL or sealed secret cannot be set as asked; the value says why.
    case appSettingRefused(String)

    public var description: String {
        switch self {
        case .database(let error): "database error: \(error)"
        case .corruptRow(let what): "corrupt row: \(what)"
        case .inputFilesUnavailable(let ids): "input files not available: \(ids)"
        case .unknownTaskType(let id): "unknown task type '\(id)'"
        case .unknownApp(let id): "no ExApp '\(id)'"
        case .coreTaskType(let id): "'\(id)' is a core task type; a custom task type needs another id"
        case .ownedByOther(let what, let id): "\(what) '\(id)' belongs to another app"
        case .providerNotFound(let id): "no provider '\(id)'"
        case .taskTypeNotFound(let id): "no custom task type '\(id)'"
        case .providerNotForType(let provider, let type): "provider '\(provider)' does not process task type '\(type)'"
        case .changedConcurrently(let id): "provider '\(id)' changed while being removed; try again"
        case .taskTypeInUse(let id, let providers):
            "custom task type '\(id)' still has providers (\(providers.joined(separator: ", "))); remove them first"
        case .invalidAccountName(let why): why
        case .accountAlreadyExists(let name): "'\(name)' already exists"
        case .accountNotFound(let name): "'\(name)' does not exist"
        case .appSettingRefused(let why): why
        }
    }

    /// True when the database is unreachable: callers answer 503 and try again later.
    public var isUnavailable: Bool {
        if case .database(let error) = self { return error.isUnavailable }
        return false
    }
}
