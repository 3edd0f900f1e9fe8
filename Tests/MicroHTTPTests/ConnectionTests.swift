import Dispatch
import Foundation
import Glibc
import LoopbackHTTPClient
import MicroHTTP
import Synchronization
import Testing

@Suite("Connections")
struct ConnectionTests {
    @Test("an idle connection is closed after the configured timeout")
    func idleConnectionClosed() throws {
        try TestServer.with(TestServer.configuration(timeoutSeconds: 1)) { server in
            let descriptor = try RawSockets.connect(port: server.port)
            defer { close(descriptor) }
            // A bound so the test ends, not a measurement: without a timeout it would stay open.
            #expect(RawSockets.peerCloses(descriptor, withinSeconds: 10))
        }
    }

    @Test("16 threads sending 200 requests each on keep-alive connections are all answered correctly")
    func concurrentClients() throws {
        let threads = 16
        let requestsPerThread = 200
        try TestServer.with(TestServer.configuration(threads: 16)) { server in
            let correct = Atomic<Int>(0)
            let failures = Mutex<[String]>([])
            let finished = DispatchGroup()
            let port = server.port
            for thread in 0..<threads {
                finished.enter()
                Thread {
                    defer { finished.leave() }
                    let client = LoopbackHTTPClient(port: port, timeoutSeconds: 30)
                    for request in 0..<requestsPerThread {
                        let body = "\(thread)-\(request)"
                        do {
                            let response = try client.send(method: "POST", path: "/echo/\(body)", body: Array(body.utf8))
                            if response.status == 200, response.bodyText == body {
                                correct.add(1, ordering: .relaxed)
                            } else {
                                failures.withLock { $0.append("\(body): \(response.status) \(response.bodyText)") }
                            }
                        } catch {
                            failures.withLock { $0.append("\(body): \(error)") }
                        }
                    }
                }.start()
            }
            #expect(finished.wait(timeout: .now() + 120) == .success)
            #expect(failures.withLock { $0 }.prefix(5) == [])
            #expect(correct.load(ordering: .relaxed) == threads * requestsPerThread)
            #expect(server.handler.handledCount == threads * requestsPerThread)
            let paths = Set(server.handler.handled.withLock { $0.map(\.path) })
            #expect(paths.count == threads * requestsPerThread)
        }
    }
}
