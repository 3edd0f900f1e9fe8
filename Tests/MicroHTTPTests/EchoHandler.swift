import Glibc
import MicroHTTP
import Synchronization

/// A handler that records what it is given and answers by path, for the tests.
final class EchoHandler: HTTPHandler {
    let handled = Mutex<[HTTPRequest]>([])
    let rejections = Mutex<[HTTPRejection]>([])
    /// `/slow` waits on this until the test lets it go (or 10 s pass).
    let slowGate = Gate()
    /// `/together` waits until this many `/together` requests are being handled at once (or 10
    /// s pass), then answers 200, or 503 if they never were.
    let togetherCount = Atomic<Int>(0)
    let togetherTarget = Atomic<Int>(Int.max)

    var handledCount: Int { handled.withLock { $0.count } }
    var lastHandled: HTTPRequest? { handled.withLock { $0.last } }
    var allRejections: [HTTPRejection] { rejections.withLock { $0 } }

    func handle(_ request: HTTPRequest) -> HTTPResponse {
        handled.withLock { $0.append(request) }
        switch request.path {
        case "/no-content":
            return HTTPResponse(status: 204, body: Array("must not be sent".utf8))
        case "/plain":
            return HTTPResponse(status: 200, body: Array("plain".utf8))
        case "/close":
            return HTTPResponse(status: 200, headers: ["Connection": "close"], body: Array("bye".utf8))
        case "/injected-header":
            return HTTPResponse(status: 200, headers: ["X-Bad": "a\r\nX-Injected: yes"])
        case "/invalid-status":
            return HTTPResponse(status: 42)
        case "/together":
            togetherCount.add(1, ordering: .relaxed)
            for _ in 0..<1000 where togetherCount.load(ordering: .relaxed) < togetherTarget.load(ordering: .relaxed) {
                usleep(10_000)
            }
            let met = togetherCount.load(ordering: .relaxed) >= togetherTarget.load(ordering: .relaxed)
            return HTTPResponse(status: met ? 200 : 503)
        case "/slow":
            slowGate.wait(upToSeconds: 10)
            return HTTPResponse(status: 200, body: Array("slow".utf8))
        default:
            return HTTPResponse(
                status: 200,
                headers: ["Content-Type": "application/octet-stream", "X-Echo-Method": request.method],
                body: request.body)
        }
    }

    /// `/upload` accepts bodies of 4 KiB; every other path has the server's limit.
    static let uploadLimit = 4 * 1024

    func maxBodyBytes(for head: HTTPRequestHead) -> Int? {
        head.path == "/upload" ? Self.uploadLimit : nil
    }

    /// Requests to `/deferred` are parked, in arrival order, until the test completes them.
    let parked = Mutex<[PendingResponse]>([])
    /// How many parked requests the server cancelled (client hung up, or the server stopped).
    let cancellations = Atomic<Int>(0)

    func respond(to request: HTTPRequest) -> HTTPHandlerResult {
        guard request.path == "/deferred" else { return .response(handle(request)) }
        handled.withLock { $0.append(request) }
        let pending = PendingResponse()
        pending.onCancel { [self] in cancellations.add(1, ordering: .relaxed) }
        parked.withLock { $0.append(pending) }
        return .deferred(pending)
    }

    func reject(_ head: HTTPRequestHead, reason: HTTPRejection) -> HTTPResponse {
        rejections.withLock { $0.append(reason) }
        switch reason {
        case .bodyTooLarge(let limit):
            return HTTPResponse(status: 413, body: Array("over \(limit)".utf8))
        case .invalidEncoding(let part):
            return HTTPResponse(status: 400, body: Array("invalid \(part)".utf8))
        }
    }
}

/// A one-shot signal between a test and a handler thread.
final class Gate: Sendable {
    private let state = Mutex<(entered: Bool, opened: Bool)>((false, false))

    func open() {
        state.withLock { $0.opened = true }
    }

    var entered: Bool { state.withLock { $0.entered } }

    /// Marks the gate entered and waits until it is opened or `seconds` pass.
    func wait(upToSeconds seconds: Int) {
        state.withLock { $0.entered = true }
        for _ in 0..<(seconds * 100) where !state.withLock({ $0.opened }) {
            usleep(10_000)
        }
    }

    /// Waits until a handler has entered, or `seconds` pass; returns whether one did.
    func waitUntilEntered(upToSeconds seconds: Int) -> Bool {
        for _ in 0..<(seconds * 100) where !entered {
            usleep(10_000)
        }
        return entered
    }
}
