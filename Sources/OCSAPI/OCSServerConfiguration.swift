/// Settings of the OCS API layer. Every default is documented here and in the README.
public struct OCSServerConfiguration: Sendable {
    /// Reported by the status endpoint.
    public var serverVersion: String
    /// Seconds a claim is leased to its worker (`leaseExpiresAt`). Default 300.
    public var leaseSeconds: Int
    /// Seconds until `completionExpectedAt` for a new task. Default 60.
    public var expectedRuntimeSeconds: Int
    /// How long a verified credential is remembered; 0 disables the cache. Default 30 s.
    public var credentialCacheSeconds: Int
    /// Deepest nesting accepted in JSON bodies. Default 64.
    public var maxJSONDepth: Int

    public init(
        serverVersion: String, leaseSeconds: Int = 300, expectedRuntimeSeconds: Int = 60,
        credentialCacheSeconds: Int = 30, maxJSONDepth: Int = 64
    ) {
        self.serverVersion = serverVersion
        self.leaseSeconds = leaseSeconds
        self.expectedRuntimeSeconds = expectedRuntimeSeconds
        self.credentialCacheSeconds = credentialCacheSeconds
        self.maxJSONDepth = maxJSONDepth
    }
}
