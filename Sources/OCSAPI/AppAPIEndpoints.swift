import JSON
import TaskQueue

/// The AppAPI side: ExApps register and remove task providers (with an optional custom task
/// type) through `ai_provider/task_processing`, and read `cloud/capabilities` first, as
/// nc_py_api does.
public struct AppAPIEndpoints: Sendable {
    let catalog: ProviderCatalog
    let configuration: OCSServerConfiguration

    /// The Nextcloud release whose TaskProcessing API this server speaks (clients gate
    /// features such as `next_batch` on it).
    static let nextcloudVersion = (major: 34, minor: 0, micro: 0)

    /// The AppAPI version the capabilities name, and trigger calls send as `AA-VERSION`.
    public static let appAPIVersion = "5.0.0"

    /// A Nextcloud-like capabilities document: `version`, and `capabilities` with `app_api`
    /// (nc_py_api refuses provider calls without it) and this server's own entry.
    func capabilities() -> EndpointResult {
        let version = Self.nextcloudVersion
        return .ok([
            "version": [
                "major": .int(Int64(version.major)), "minor": .int(Int64(version.minor)),
                "micro": .int(Int64(version.micro)), "string": .string("\(version.major).\(version.minor).\(version.micro)"),
                "edition": "", "extendedSupport": false,
            ],
            "capabilities": [
                "core": ["pollinterval": 60, "webdav-root": "remote.php/webdav"],
                "app_api": ["loglevel": 1, "version": .string(Self.appAPIVersion)],
                "taskdispatch": ["version": .string(configuration.serverVersion)],
            ],
        ])
    }

    /// Registers (or updates) the calling ExApp's provider. Body as nc_py_api sends it:
    /// `{"provider": {"id", "name", "task_type", "expected_runtime", ...}, "customTaskType"?: {...}}`.
    func register(_ context: EndpointContext) throws -> EndpointResult {
        let appID = try context.requireExApp(routes: "AppAPI provider routes")
        let (provider, customType) = try ProviderRegistrationBody.parse(context.parameters, appID: appID, core: catalog.core)
        try catalog.register(provider, customType: customType)
        return .ok(Self.json(provider))
    }

    /// Removes the calling ExApp's provider named by `name`; 404 when it has none of that name.
    func unregister(_ context: EndpointContext) throws -> EndpointResult {
        let appID = try context.requireExApp(routes: "AppAPI provider routes")
        let name = try context.parameters.requiredString("name")
        try catalog.unregister(providerID: name, appID: appID)
        return .ok(.null)
    }

    static func json(_ provider: TaskProvider) -> JSONValue {
        [
            "id": .string(provider.id), "name": .string(provider.displayName), "task_type": .string(provider.taskType),
            "expected_runtime": .int(Int64(provider.expectedRuntimeSeconds)),
            "app_id": provider.appID.map(JSONValue.string) ?? .null,
        ]
    }
}
