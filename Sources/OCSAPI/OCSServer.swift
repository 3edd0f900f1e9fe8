import JSON
import Logging
import MicroHTTP
import TaskQueue

/// The OCS TaskProcessing API as an HTTP handler: routing, authentication, parameters,
/// dispatch to the endpoints, the envelope, and one log line per refused request; and the
/// health probes `/healthz` and `/readyz`.
public final class OCSServer: HTTPHandler {
    private let taskEndpoints: TaskEndpoints
    private let providerEndpoints: ProviderEndpoints
    private let adminEndpoints: AdminEndpoints
    private let adminTaskEndpoints: AdminTaskEndpoints
    private let fileEndpoints: FileEndpoints
    private let csrfCheck: Bool
    private let appAPIEndpoints: AppAPIEndpoints
    private let authenticator: Authenticator
    private let jsonOptions: JSONParseOptions
    private let logger: Logger
    /// Where `next` / `next_batch` requests with `wait` park; without it `wait` is accepted
    /// and checked but nobody waits.
    private let longPolls: LongPollWaiters?
    private let healthProbes: HealthProbes
    /// `/metrics` and the request metrics; nil with metrics off.
    private let metricsEndpoint: MetricsEndpoint?
    private let httpMetrics: HTTPMetrics?
    /// Where ExApps' requests are noted for the workers view.
    private let workerActivity: WorkerActivity
    /// The operators' web dashboard under `/dashboard`.
    private let dashboard: DashboardEndpoints

    /// Creates the handler; `longPolls` enables waiting on `next` / `next_batch`.
    public init(
        tasks: TaskStore, accounts: AccountStore, catalog: ProviderCatalog,
        configuration: OCSServerConfiguration, taskFinished: TaskFinishedListener = .none, longPolls: LongPollWaiters? = nil,
        readiness: ServiceReadiness? = nil, metrics: OCSMetricsConfiguration? = nil, taskMetrics: TaskMetrics = .disabled,
        releaseAnnouncer: ReleaseAnnouncer? = nil, logger: Logger
    ) {
        metricsEndpoint = metrics.map(MetricsEndpoint.init)
        httpMetrics = metrics.map { HTTPMetrics(factory: $0.factory) }
        self.longPolls = longPolls
        workerActivity = tasks.workerActivity
        healthProbes = HealthProbes(readiness: readiness)
        let services = TaskServices(
            store: tasks, catalog: catalog, rules: configuration.rules, taskFinished: taskFinished, metrics: taskMetrics,
            announcer: releaseAnnouncer)
        taskEndpoints = TaskEndpoints(store: tasks, catalog: catalog, services: services, configuration: configuration)
        providerEndpoints = ProviderEndpoints(services: services, configuration: configuration)
        let administration = TaskAdministration(
            store: tasks, catalog: catalog, taskFinished: taskFinished, announcer: services.announcer)
        adminEndpoints = AdminEndpoints(
            store: tasks, catalog: catalog, administration: administration, configuration: configuration, longPolls: longPolls)
        adminTaskEndpoints = AdminTaskEndpoints(administration: administration)
        fileEndpoints = FileEndpoints(files: services.files, configuration: configuration)
        csrfCheck = configuration.csrfCheck
        appAPIEndpoints = AppAPIEndpoints(catalog: catalog, configuration: configuration)
        let cookie = DashboardCookie(secure: configuration.secureCookies, lifetimeSeconds: configuration.dashboardSessionSeconds)
        authenticator = Authenticator(
            accounts: accounts, cache: CredentialCache(ttl: .seconds(configuration.credentialCacheSeconds)),
            sessions: accounts.dashboardSessions, cookie: cookie)
        jsonOptions = JSONParseOptions(maxDepth: configuration.maxJSONDepth)
        dashboard = DashboardEndpoints(
            accounts: accounts, sessions: accounts.dashboardSessions, cookie: cookie, jsonOptions: jsonOptions, logger: logger)
        self.logger = logger
    }

    /// Answers at once: a `wait` on `next` / `next_batch` is checked but not waited for.
    public func handle(_ request: HTTPRequest) -> HTTPResponse {
        switch answer(request, mayWait: false) {
        case .response(let response): return response
        // Not reached: without `mayWait` nothing is deferred.
        case .deferred: return refuse(request.head, OCSError.internalError(cause: "deferred without a wait"), version: .v2)
        }
    }

    /// As ``handle(_:)``, but `next` and `next_batch` with `wait` may answer later.
    public func respond(to request: HTTPRequest) -> HTTPHandlerResult {
        answer(request, mayWait: longPolls != nil)
    }

    /// The one path every request takes: route, checks, dispatch.
    private func answer(_ request: HTTPRequest, mayWait: Bool) -> HTTPHandlerResult {
        if let probe = healthProbes.answer(request.head) { return .response(probe) }
        if DashboardEndpoints.owns(request.head.path) {
            do {
                return .response(try dashboard.answer(request))
            } catch {
                return .response(DashboardEndpoints.secured(refuse(request.head, error, version: .v2)))
            }
        }
        if let metricsEndpoint, request.head.path == MetricsEndpoint.path {
            return .response(metricsEndpoint.answer(request.head) { try authenticator.authenticate(request.head.headers) })
        }
        var version: OCSVersion = request.head.path.hasPrefix("/ocs/v1.php/") ? .v1 : .v2
        do {
            switch Router.match(method: request.head.method, path: request.head.path) {
            case .notFound:
                throw OCSError.notFound("no route for \(request.head.method) \(request.head.path)")
            case .methodNotAllowed(let allowed, let routeVersion):
                version = routeVersion
                throw OCSError(
                    status: 405, message: "method \(request.head.method) not allowed here; allowed: \(allowed.joined(separator: ", "))",
                    headers: [("Allow", allowed.joined(separator: ", "))])
            case .invalidID(let message, let routeVersion):
                version = routeVersion
                throw OCSError.badRequest(message)
            case .route(let route, let routeVersion):
                version = routeVersion
                if csrfCheck && !Self.passesCSRFCheck(request.head.headers) {
                    return .response(refuseCSRF(request.head))
                }
                if mayWait, let longPolls, route == .nextTask || route == .nextBatch {
                    return try longPoll(route, request, longPolls, version: version)
                }
                let result = try dispatch(route, request)
                if let raw = result.raw { return .response(raw) }
                return .response(OCSResponse.success(result.data, status: result.status, version: version))
            }
        } catch {
            return .response(refuse(request.head, error, version: version))
        }
    }

    /// `next` or `next_batch` with a possible `wait`: the request is read and checked here, the
    /// claims and the waiting are ``LongPollWaiters``'.
    private func longPoll(
        _ route: Route, _ request: HTTPRequest, _ longPolls: LongPollWaiters, version: OCSVersion
    ) throws -> HTTPHandlerResult {
        let head = request.head
        let context = try endpointContext(request, route: route)
        let waitSeconds = try providerEndpoints.waitSeconds(context.parameters)
        let poll = try providerEndpoints.claimPoll(context, route: route)
        let empty = OCSResponse.success(poll.emptyResult.data, status: poll.emptyResult.status, version: version)
        return longPolls.poll(
            types: poll.claimable.types, waitSeconds: waitSeconds, emptyResponse: empty, appID: context.principal.exAppID
        ) { [self] in
            do {
                guard let (result, claimed) = try poll.claim() else { return nil }
                return .init(response: OCSResponse.success(result.data, status: result.status, version: version), countsByType: claimed)
            } catch {
                return .init(response: refuse(head, error, version: version), countsByType: [:])
            }
        }
    }

    /// Counts the request in the metrics, labelled by its route's pattern (never its path), and
    /// logs it at `debug`: request id, route, status, duration, the task named in the path and the
    /// ExApp named in the headers (an access log, for `--log-level debug`).
    public func requestAnswered(_ head: HTTPRequestHead, status: Int, seconds: Double) {
        guard httpMetrics != nil || logger.logLevel <= .debug else { return }
        let route: String
        var taskID: Int64?
        if HealthProbes.paths.contains(head.path) || (metricsEndpoint != nil && head.path == MetricsEndpoint.path) {
            route = head.path
        } else if DashboardEndpoints.owns(head.path) {
            route = DashboardEndpoints.metricsLabel(head.path)
        } else {
            let match = Router.matchWithPattern(method: head.method, path: head.path)
            route = match.pattern ?? "unmatched"
            if case .route(let matched, _) = match.match { taskID = matched.taskID }
        }
        httpMetrics?.record(route: route, status: status, seconds: seconds)
        guard logger.logLevel <= .debug else { return }
        var metadata: Logger.Metadata = [
            "request.id": "\(head.requestID)", "method": "\(head.method)", "route": "\(route)", "status": "\(status)",
            "duration": "\((seconds * 1_000_000).rounded() / 1_000_000)",
        ]
        if let taskID { metadata["task.id"] = "\(taskID)" }
        if let exApp = head.headers["EX-APP-ID"] { metadata["exapp"] = "\(exApp)" }
        logger.debug("request answered", metadata: metadata)
    }

    /// The upload routes accept a file of up to `maxFileBytes` plus its multipart framing; the
    /// others keep the server's limit.
    public func maxBodyBytes(for head: HTTPRequestHead) -> Int? {
        guard case .route(let route, _) = Router.match(method: head.method, path: head.path), route.takesUpload else {
            return nil
        }
        return fileEndpoints.uploadBodyLimit
    }

    /// Nextcloud's check: `OCS-APIRequest: true`, or a Bearer token (which a browser never
    /// sends on its own). It runs before authentication, so anonymous requests get 412 too.
    static func passesCSRFCheck(_ headers: HTTPHeaders) -> Bool {
        if headers["OCS-APIRequest"] == "true" { return true }
        guard let authorization = headers["Authorization"] else { return false }
        return Authenticator.splitScheme(authorization).scheme.lowercased() == "bearer"
    }

    /// HTTP 412 with `{"message":"CSRF check failed"}`, not enveloped, exactly as Nextcloud answers.
    private func refuseCSRF(_ head: HTTPRequestHead) -> HTTPResponse {
        logger.notice("request refused", metadata: [
            "request.id": "\(head.requestID)", "method": "\(head.method)", "path": "\(head.path)", "status": "412",
            "reason": "CSRF check failed: no OCS-APIRequest: true header and no Bearer token",
        ])
        var headers = HTTPHeaders()
        headers.add("Content-Type", OCSResponse.jsonContentType)
        return HTTPResponse(status: 412, headers: headers, body: Array(#"{"message":"CSRF check failed"}"#.utf8))
    }

    public func reject(_ head: HTTPRequestHead, reason: HTTPRejection) -> HTTPResponse {
        let version: OCSVersion = head.path.hasPrefix("/ocs/v1.php/") ? .v1 : .v2
        switch reason {
        case .bodyTooLarge(let limit):
            return refuse(head, OCSError(status: 413, message: "request body larger than \(limit) bytes"), version: version)
        case .invalidEncoding(let what):
            return refuse(head, OCSError.badRequest("\(what) is not valid UTF-8"), version: version)
        }
    }

    private func dispatch(_ route: Route, _ request: HTTPRequest) throws -> EndpointResult {
        // Public, as in Nextcloud: clients read it before they know whether they may log in.
        if route == .capabilities { return appAPIEndpoints.capabilities() }
        let context = try endpointContext(request, route: route)
        switch route {
        case .schedule: return try taskEndpoints.schedule(context)
        case .scheduleBatch: return try taskEndpoints.scheduleBatch(context)
        case .getTask(let id): return try taskEndpoints.get(context, id: id, owner: try context.userOwner())
        case .deleteTask(let id): return try taskEndpoints.delete(context, id: id, owner: try context.userOwner())
        case .listTasks: return try taskEndpoints.list(context)
        case .listAppTasks(let appID): return try taskEndpoints.listForApp(context, appID: appID)
        case .cancelTask(let id): return try taskEndpoints.cancel(context, id: id, owner: try context.userOwner())
        case .queuePosition(let id): return try taskEndpoints.queuePosition(context, id: id, owner: try context.userOwner())
        case .taskTypes: return try taskEndpoints.taskTypes(context)
        case .nextTask: return try providerEndpoints.next(context)
        case .reportProgress(let id): return try providerEndpoints.progress(context, taskID: id)
        case .reportIntermediateResult(let id): return try providerEndpoints.intermediateResult(context, taskID: id)
        case .reportResult(let id):
            defer { context.principal.exAppID.map(workerActivity.reported) }
            return try providerEndpoints.result(context, taskID: id)
        case .reportResults:
            defer { context.principal.exAppID.map(workerActivity.reported) }
            return try providerEndpoints.results(context)
        case .adminStatus: return try adminEndpoints.status(context)
        case .nextBatch: return try providerEndpoints.nextBatch(context)
        case .queueStats: return try providerEndpoints.queueStats(context)
        case .consumerSchedule: return try taskEndpoints.consumerSchedule(context)
        case .consumerGetTask(let id): return try taskEndpoints.get(context, id: id, owner: try context.consumerOwner())
        case .consumerDeleteTask(let id): return try taskEndpoints.delete(context, id: id, owner: try context.consumerOwner())
        case .consumerCancelTask(let id): return try taskEndpoints.cancel(context, id: id, owner: try context.consumerOwner())
        case .uploadFile: return try fileEndpoints.upload(context, request)
        case .providerUploadFile(let taskID): return try fileEndpoints.providerUpload(context, request, taskID: taskID)
        case .getTaskFile(let taskID, let fileID):
            return try fileEndpoints.download(context, taskID: taskID, fileID: fileID, owner: try context.userOwner())
        case .providerGetTaskFile(let taskID, let fileID):
            _ = try context.requireExApp()
            return try fileEndpoints.download(context, taskID: taskID, fileID: fileID, owner: nil)
        case .consumerTaskTypes:
            _ = try context.requireExApp(routes: "tasks_consumer routes")
            return try taskEndpoints.taskTypes(context)
        case .capabilities: return appAPIEndpoints.capabilities()
        case .registerProvider: return try appAPIEndpoints.register(context)
        case .unregisterProvider: return try appAPIEndpoints.unregister(context)
        case .adminTasks: return try adminTaskEndpoints.list(context)
        case .adminTask(let id): return try adminTaskEndpoints.get(context, id: id)
        case .adminRetryTask(let id): return try adminTaskEndpoints.retry(context, id: id)
        case .adminCancelTask(let id): return try adminTaskEndpoints.cancel(context, id: id)
        case .adminRetryTasks: return try adminTaskEndpoints.bulk(context, .retry)
        case .adminCancelTasks: return try adminTaskEndpoints.bulk(context, .cancel)
        case .adminTypes: return try adminTaskEndpoints.types(context)
        case .adminPauseType(let type): return try adminTaskEndpoints.setPaused(context, type: type, true)
        case .adminResumeType(let type): return try adminTaskEndpoints.setPaused(context, type: type, false)
        case .adminTypeLimits(let type): return try adminTaskEndpoints.setLimits(context, type: type)
        case .adminStats: return try adminTaskEndpoints.statistics(context)
        case .adminWorkers: return try adminTaskEndpoints.workers(context)
        case .adminHistory: return try adminTaskEndpoints.history(context)
        case .adminWebhooks: return try adminTaskEndpoints.webhooks(context)
        case .adminTaskFile(let taskID, let fileID):
            try context.requireAdmin()
            return try fileEndpoints.download(context, taskID: taskID, fileID: fileID, owner: nil)
        }
    }

    /// The authenticated caller and the parameters of `request`.
    private func endpointContext(_ request: HTTPRequest, route: Route) throws(OCSError) -> EndpointContext {
        var principal = try authenticator.authenticate(request.head.headers)
        if principal == nil && route.isAdmin { principal = try authenticator.authenticateSession(request.head.headers) }
        guard let principal else {
            throw .unauthorized(
                "authentication required: HTTP Basic with a user name and app password, "
                    + "Authorization: Bearer <app password>, or AppAPI headers")
        }
        if let appID = principal.exAppID { workerActivity.requested(by: appID) }
        // An upload's body is multipart, read by the file endpoint; its parameters are the query's.
        let parameterSource = route.takesUpload ? HTTPRequest(head: request.head) : request
        return EndpointContext(
            principal: principal, parameters: try RequestParameters(request: parameterSource, jsonOptions: jsonOptions),
            headers: request.head.headers)
    }

    /// The error envelope for `error`, logged with the request id. Client mistakes are `notice`,
    /// server trouble `error`; no credential or body content is ever logged.
    private func refuse(_ head: HTTPRequestHead, _ error: any Error, version: OCSVersion) -> HTTPResponse {
        let ocsError = OCSError(answering: error)
        var metadata: Logger.Metadata = [
            "request.id": "\(head.requestID)", "method": "\(head.method)", "path": "\(head.path)",
            "status": "\(ocsError.status)", "reason": "\(ocsError.message)",
        ]
        if let cause = ocsError.cause { metadata["cause"] = "\(cause)" }
        logger.log(level: ocsError.status >= 500 ? .error : .notice, "request refused", metadata: metadata)
        return OCSResponse.error(ocsError, version: version)
    }
}
