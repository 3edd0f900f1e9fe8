/// Who processes one task type: registered by an ExApp through AppAPI (`appID`) or by an
/// administrator (`appID` nil). `id` is what workers send in `providerIds`.
public struct TaskProvider: Sendable, Equatable {
    public var id: String
    public var appID: String?
    public var displayName: String
    public var taskType: String
    /// Added to a task's scheduled time for its `completionExpectedAt`.
    public var expectedRuntimeSeconds: Int
    /// What it adds to its type's shapes while it is the preferred provider.
    public var shapes: ProviderShapes

    public init(
        id: String, appID: String?, displayName: String, taskType: String, expectedRuntimeSeconds: Int,
        shapes: ProviderShapes = ProviderShapes()
    ) {
        self.shapes = shapes
        self.id = id
        self.appID = appID
        self.displayName = displayName
        self.taskType = taskType
        self.expectedRuntimeSeconds = expectedRuntimeSeconds
    }
}
