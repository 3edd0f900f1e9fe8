import Foundation
import Glibc
import Logging
import LoopbackHTTPClient
import MicroHTTP
import Synchronization
import Testing

/// Responses given later (``PendingResponse``): the connection is parked without holding a
/// worker thread, answered from another thread, cancelled when its client hangs up, and
/// answered by the server itself when it stops.
@Suite("Deferred responses")
struct DeferredResponseTests {
    @Test("more parked requests than worker threads: all are answered from another thread, and other requests are served meanwhile")
    func answeredFromAnotherThread() throws {
        try TestServer.with(TestServer.configuration(threads: 2)) { server in
            let parkedCount = 6
            let answers = Mutex<[Int: LoopbackHTTPResponse]>([:])
            let done = DispatchGroup()
            for index in 0..<parkedCount {
                done.enter()
                Thread {
                    let response = try? LoopbackHTTPClient(port: server.port, timeoutSeconds: 30).send(method: "GET", path: "/deferred")
                    answers.withLock { $0[index] = response }
                    done.leave()
                }.start()
            }
            try #require(waitUntil { server.handler.parked.withLock { $0.count } == parkedCount })
            // Six parked on two threads: the threads are free for other requests.
            let plain = try LoopbackHTTPClient(port: server.port, timeoutSeconds: 10).send(method: "GET", path: "/plain")
            #expect(plain.status == 200)

            let pending = server.handler.parked.withLock { $0 }
            Thread {
                for (index, response) in pending.enumerated() {
                    #expect(response.complete(with: HTTPResponse(status: 200, body: Array("answer \(index)".utf8))))
                }
            }.start()
            #expect(done.wait(timeout: .now() + 30) == .success)
            let bodies = Set(answers.withLock { $0.values.map { String(decoding: $0.body, as: UTF8.self) } })
            #expect(bodies == Set((0..<parkedCount).map { "answer \($0)" }))
            // Only the first completion counts.
            #expect(!pending[0].complete(with: HTTPResponse(status: 500)))
            #expect(server.handler.cancellations.load(ordering: .relaxed) == 0)
        }
    }

    @Test("a client that hangs up while parked is noticed: the cancellation handler runs")
    func hangUpCancels() throws {
        try TestServer.with { server in
            let socket = try RawSockets.connect(port: server.port)
            let request = Array("GET /deferred HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
            #expect(send(socket, request, request.count, Int32(MSG_NOSIGNAL)) == request.count)
            try #require(waitUntil { server.handler.parked.withLock { $0.count } == 1 })
            close(socket)
            #expect(waitUntil { server.handler.cancellations.load(ordering: .relaxed) == 1 })
            let pending = try #require(server.handler.parked.withLock { $0.first })
            #expect(pending.isCompleted)
            // The server is still serving.
            #expect(try LoopbackHTTPClient(port: server.port, timeoutSeconds: 10).send(method: "GET", path: "/plain").status == 200)
        }
    }

    @Test("stopping the server answers requests still parked with 503")
    func stopAnswersParked() throws {
        let logs = CapturedLogs()
        let handler = EchoHandler()
        let server = HTTPServer(
            configuration: TestServer.configuration(), handler: handler,
            logger: Logger(label: "DeferredResponseTests") { _ in CapturingLogHandler(logs: logs) })
        try server.start()
        let port = server.boundPort
        let answer = Mutex<LoopbackHTTPResponse?>(nil)
        let done = DispatchSemaphore(value: 0)
        Thread {
            let response = try? LoopbackHTTPClient(port: port, timeoutSeconds: 30).send(method: "GET", path: "/deferred")
            answer.withLock { $0 = response }
            done.signal()
        }.start()
        try #require(waitUntil { handler.parked.withLock { $0.count } == 1 })
        server.stop()
        #expect(done.wait(timeout: .now() + 30) == .success)
        #expect(answer.withLock { $0?.status } == 503)
        #expect(handler.cancellations.load(ordering: .relaxed) == 1)
    }

    /// Polls every 10 ms for up to 15 s.
    private func waitUntil(_ condition: () -> Bool) -> Bool {
        for _ in 0..<1500 {
            if condition() { return true }
            usleep(10_000)
        }
        return condition()
    }
}
