import Crypto
import Foundation
import Logging
import MicroHTTP
import Synchronization

/// A webhook receiver on a loopback port (a MicroHTTP server) that records every call and
/// answers with the status `answer` picks from the call and how many calls for the same task
/// came before it.
final class WebhookReceiver: Sendable {
    struct Call: Sendable {
        let method: String
        let path: String
        let deliveryID: String?
        let taskID: Int64?
        let attempt: Int?
        let timestamp: String?
        let signature: String?
        let contentType: String?
        let body: [UInt8]
        let answered: Int
    }

    private let recorder: Recorder
    private let server: HTTPServer
    private let scheme: String

    /// With `tls`, the receiver speaks only HTTPS.
    init(
        tls: TLSCredentials? = nil, answer: @escaping @Sendable (_ call: Call, _ earlierCallsForTask: Int) -> Int = { _, _ in 200 }
    ) throws {
        recorder = Recorder(answer: answer)
        scheme = tls == nil ? "http" : "https"
        server = HTTPServer(
            configuration: HTTPServerConfiguration(host: "127.0.0.1", port: 0, threadPoolSize: 4, tls: tls),
            handler: recorder, logger: TestServer.silentLogger)
        try server.start()
    }

    var port: UInt16 { server.boundPort }

    func url(_ path: String = "/hook", host: String = "127.0.0.1") -> String { "\(scheme)://\(host):\(port)\(path)" }

    var calls: [Call] { recorder.calls.withLock { $0 } }

    /// Waits (bounded, polling) until `condition` holds for the calls so far; false on timeout.
    func waitUntil(timeoutSeconds: Double = 60, _ condition: ([Call]) -> Bool) -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int(timeoutSeconds * 1000))
        while ContinuousClock.now < deadline {
            if condition(calls) { return true }
            usleep(20_000)
        }
        return condition(calls)
    }

    func stop() { server.stop() }

    /// The signature header value a receiver expects, computed here independently of the server.
    static func expectedSignature(secret: String, timestamp: String, body: [UInt8]) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Array("\(timestamp).".utf8) + body, using: SymmetricKey(data: Array(secret.utf8)))
        return "sha256=" + mac.map { String(format: "%02x", $0) }.joined()
    }

    private final class Recorder: HTTPHandler {
        let calls = Mutex<[Call]>([])
        let answer: @Sendable (Call, Int) -> Int

        init(answer: @escaping @Sendable (Call, Int) -> Int) {
            self.answer = answer
        }

        func handle(_ request: HTTPRequest) -> HTTPResponse {
            let headers = request.headers
            var call = Call(
                method: request.method, path: request.path, deliveryID: headers["X-TaskDispatch-Delivery"],
                taskID: headers["X-TaskDispatch-Task"].flatMap { Int64($0) },
                attempt: headers["X-TaskDispatch-Attempt"].flatMap { Int($0) }, timestamp: headers["X-TaskDispatch-Timestamp"],
                signature: headers["X-TaskDispatch-Signature"], contentType: headers["Content-Type"], body: request.body,
                answered: 0)
            let earlier = calls.withLock { calls in calls.filter { $0.taskID == call.taskID }.count }
            let status = answer(call, earlier)
            call = Call(
                method: call.method, path: call.path, deliveryID: call.deliveryID, taskID: call.taskID, attempt: call.attempt,
                timestamp: call.timestamp, signature: call.signature, contentType: call.contentType, body: call.body,
                answered: status)
            calls.withLock { $0.append(call) }
            var response = HTTPResponse(status: status, body: Array("ok".utf8))
            if (300..<400).contains(status) { response.headers.add("Location", "/redirected") }
            return response
        }

        func reject(_ head: HTTPRequestHead, reason: HTTPRejection) -> HTTPResponse {
            HTTPResponse(status: 400)
        }
    }
}
