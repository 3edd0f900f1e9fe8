import Foundation
import JSON
import LoopbackHTTPClient
import TaskDispatchApp

/// One worker thread's connection to the server, as the ExApp or as the user.
final class BenchClient {
    static let base = "/ocs/v2.php/taskprocessing/"
    let http: LoopbackHTTPClient
    let headers: [(String, String)]

    /// With `tls`, over HTTPS (one handshake per client: connections are kept alive).
    init(port: UInt16, headers: [(String, String)], tls: TLSClientConfiguration? = nil) {
        http = LoopbackHTTPClient(port: port, timeoutSeconds: 60, tls: tls)
        self.headers = headers + [("OCS-APIRequest", "true"), ("Content-Type", "application/json")]
    }

    deinit { http.close() }

    static func appHeaders(app: String, secret: String) -> [(String, String)] {
        [("EX-APP-ID", app), ("EX-APP-VERSION", "1.0.0"), ("AA-VERSION", "2.2.0"),
         ("AUTHORIZATION-APP-API", Data(":\(secret)".utf8).base64EncodedString())]
    }

    static func userHeaders(user: String, password: String) -> [(String, String)] {
        [("Authorization", "Basic " + Data("\(user):\(password)".utf8).base64EncodedString())]
    }

    /// Sends one request; the status and the parsed `ocs.data` (nil for an empty body).
    func call(_ method: String, _ path: String, _ body: JSONValue, tally: inout WorkerTally) throws -> (status: Int, data: JSONValue?) {
        try call(method, path, encoded: body.serialized(), tally: &tally)
    }

    /// As ``call(_:_:_:tally:)`` with a body encoded once for many requests.
    func call(_ method: String, _ path: String, encoded payload: [UInt8], tally: inout WorkerTally) throws -> (status: Int, data: JSONValue?) {
        let response = try tally.timed { try http.send(method: method, path: Self.base + path, headers: headers, body: payload) }
        let json = response.body.isEmpty ? nil : try? JSONValue.parse(response.body)
        return (response.status, json?["ocs"]?["data"])
    }

    /// Fails unless the answer is 200.
    func expectOK(_ method: String, _ path: String, _ body: JSONValue, tally: inout WorkerTally) throws -> JSONValue? {
        let (status, data) = try call(method, path, body, tally: &tally)
        guard status == 200 else { throw BenchFailure("\(method) \(path) answered \(status)") }
        return data
    }
}
