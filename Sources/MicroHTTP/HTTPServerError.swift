/// Why the server could not do what was asked.
public enum HTTPServerError: Error, Sendable, CustomStringConvertible {
    /// libmicrohttpd refused to start; the string is its reason (e.g. the address is in use).
    case startFailed(String)
    /// ``HTTPServerConfiguration/host`` is not a numeric IPv4 or IPv6 address.
    case invalidAddress(String)
    /// A configuration value is out of range; the string says which.
    case invalidConfiguration(String)
    /// ``HTTPServer/start()`` was called on a server that is running.
    case alreadyRunning
    /// A libmicrohttpd call failed while serving; `operation` names it.
    case callFailed(operation: String, reason: String)
    /// The handler's response cannot be sent as it is; the string says why.
    case invalidResponse(String)
    /// The TLS certificate or key cannot be used; the string says which file and why.
    case invalidTLSCredentials(String)

    /// A one-line explanation for logs.
    public var description: String {
        switch self {
        case .startFailed(let reason): "could not start the HTTP server: \(reason)"
        case .invalidAddress(let host): "not a numeric IPv4 or IPv6 address: \(host)"
        case .invalidConfiguration(let problem): "invalid HTTP server configuration: \(problem)"
        case .alreadyRunning: "the HTTP server is already running"
        case .callFailed(let operation, let reason): "\(operation) failed: \(reason)"
        case .invalidResponse(let problem): "invalid response: \(problem)"
        case .invalidTLSCredentials(let problem): "unusable TLS credentials: \(problem)"
        }
    }
}
