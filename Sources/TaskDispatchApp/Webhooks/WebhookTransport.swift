import Foundation
import LoopbackHTTPClient
import Synchronization
import TaskQueue

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Sends one webhook request and answers the status code. Redirects are never followed (one to
/// an internal address would bypass the SSRF guard): a 3xx is just a failed call.
///
/// Plain http goes over a socket to the address the guard checked (so DNS cannot change between
/// the check and the connection), and can carry a body on GET as Nextcloud sends it. https goes
/// through URLSession (libcurl), which resolves the name again and refuses bodies on GET: an
/// https GET webhook is sent without a body.
final class WebhookTransport: Sendable {
    /// Receivers' answers are not read beyond this (only the status matters); a larger answer
    /// counts as a failed call.
    static let maxResponseBytes = 1 << 20
    private let timeoutSeconds: Double
    private let session: URLSession

    init(timeoutSeconds: Double) {
        self.timeoutSeconds = timeoutSeconds
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeoutSeconds
        configuration.timeoutIntervalForResource = timeoutSeconds
        configuration.httpCookieStorage = nil
        configuration.urlCache = nil
        session = URLSession(configuration: configuration, delegate: RedirectRefuser(), delegateQueue: nil)
    }

    deinit {
        session.invalidateAndCancel()
    }

    /// Whether the request carries the payload: always, except https GET (see above).
    static func carriesBody(_ target: WebhookTarget) -> Bool {
        !(target.scheme == .https && target.httpMethod == "GET")
    }

    struct CallError: Error, CustomStringConvertible {
        let description: String
    }

    /// Sends the request; throws when no HTTP answer came (connect failure, timeout).
    func send(
        _ target: WebhookTarget, addresses: [WebhookAddress], headers: [(String, String)], body: [UInt8]
    ) throws(CallError) -> Int {
        switch target.scheme {
        case .http: try sendPlain(target, addresses: addresses, headers: headers, body: body)
        case .https: try sendTLS(target, headers: headers, body: body)
        }
    }

    private func sendPlain(
        _ target: WebhookTarget, addresses: [WebhookAddress], headers: [(String, String)], body: [UInt8]
    ) throws(CallError) -> Int {
        var failures: [String] = []
        let allHeaders = [("Host", target.hostHeader), ("Connection", "close")] + headers
        for address in addresses {
            let client = LoopbackHTTPClient(
                host: address.description, port: target.port, timeoutSeconds: timeoutSeconds,
                maxResponseBytes: Self.maxResponseBytes)
            defer { client.close() }
            do {
                return try client.send(method: target.httpMethod, path: target.requestTarget, headers: allHeaders, body: body).status
            } catch let error as LoopbackHTTPError where error.kind == .connectFailed {
                failures.append("\(address): \(error.detail)")  // try the next address
            } catch {
                throw CallError(description: "\(address): \(error)")
            }
        }
        throw CallError(description: failures.joined(separator: "; "))
    }

    private func sendTLS(_ target: WebhookTarget, headers: [(String, String)], body: [UInt8]) throws(CallError) -> Int {
        guard let url = URL(string: target.uri) else { throw CallError(description: "not a URL") }
        var request = URLRequest(url: url, timeoutInterval: timeoutSeconds)
        request.httpMethod = target.httpMethod
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        if Self.carriesBody(target) { request.httpBody = Data(body) }
        let outcome = Mutex<Result<Int, CallError>?>(nil)
        let done = DispatchSemaphore(value: 0)
        session.dataTask(with: request) { _, response, error in
            let result: Result<Int, CallError> =
                if let status = (response as? HTTPURLResponse)?.statusCode { .success(status) }
                else { .failure(CallError(description: error.map { "\($0.localizedDescription)" } ?? "no response")) }
            outcome.withLock { $0 = result }
            done.signal()
        }.resume()
        done.wait()
        switch outcome.withLock({ $0 }) {
        case .success(let status): return status
        case .failure(let error): throw error
        case nil: throw CallError(description: "no response")
        }
    }
}

/// Answers every redirect with "do not follow": the 3xx itself becomes the response.
private final class RedirectRefuser: NSObject, URLSessionTaskDelegate, Sendable {
    func urlSession(
        _ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
        newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void
    ) {
        completionHandler(nil)
    }
}
