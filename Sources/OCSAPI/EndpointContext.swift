import JSON
import MicroHTTP
import TaskQueue

/// What an endpoint gets: the authenticated caller and the request's parameters.
struct EndpointContext: Sendable {
    let principal: Principal
    let parameters: RequestParameters
    let headers: HTTPHeaders

    /// The user this request acts for; routes under a user's name refuse callers without one.
    func requireUser() throws(OCSError) -> String {
        guard let userID = principal.userID else {
            throw .forbidden("this route acts for a user; the ExApp must name one in AUTHORIZATION-APP-API")
        }
        return userID
    }

    /// The ExApp calling a worker (or other ExApp-only) route.
    func requireExApp(routes: String = "tasks_provider routes") throws(OCSError) -> String {
        guard case .exApp(let appID, _) = principal else {
            throw .forbidden("\(routes) are for ExApps authenticated with AppAPI headers")
        }
        return appID
    }

    /// Whose tasks the user routes act on: the user's.
    func userOwner() throws(OCSError) -> TaskOwner { .user(try requireUser()) }

    /// Whose tasks the `tasks_consumer` routes act on: the user the ExApp names, else the
    /// ExApp's own tasks without a user.
    func consumerOwner() throws(OCSError) -> TaskOwner {
        let appID = try requireExApp(routes: "tasks_consumer routes")
        return principal.userID.map(TaskOwner.user) ?? .app(appID)
    }

    func requireAdmin() throws(OCSError) {
        guard case .user(_, true) = principal else { throw .forbidden("this route is for administrators") }
    }
}

/// What an endpoint answers: an HTTP status and the envelope's `data`, or a whole response
/// sent as it is (file downloads).
struct EndpointResult: Sendable {
    var status: Int
    var data: JSONValue
    var raw: HTTPResponse?

    init(status: Int, data: JSONValue) {
        self.status = status
        self.data = data
    }

    init(raw: HTTPResponse) {
        self.status = raw.status
        self.data = .null
        self.raw = raw
    }

    static func ok(_ data: JSONValue) -> EndpointResult { EndpointResult(status: 200, data: data) }
    static let noContent = EndpointResult(status: 204, data: .null)
}
