import Dispatch
import Foundation
import LoopbackHTTPClient
import MicroHTTP
import Synchronization
import Testing

@Suite("Handlers run in the handler pool")
struct HandlerPoolServingTests {
    @Test("requests on connections held by one libmicrohttpd thread are handled at the same time")
    func oneConnectionThreadManyHandlers() throws {
        var configuration = TestServer.configuration(threads: 1)
        configuration.handlerThreads = 6
        try TestServer.with(configuration) { server in
            server.handler.togetherTarget.store(6, ordering: .relaxed)
            let statuses = Mutex<[Int]>([])
            let done = DispatchGroup()
            for _ in 0..<6 {
                done.enter()
                let port = server.port
                Thread {
                    let client = LoopbackHTTPClient(port: port, timeoutSeconds: 20)
                    let status = (try? client.send(method: "GET", path: "/together"))?.status ?? -1
                    statuses.withLock { $0.append(status) }
                    done.leave()
                }.start()
            }
            done.wait()
            // With handlers on the single connection thread, one request at a time would run
            // and each would give up waiting for the others: 503.
            #expect(statuses.withLock { $0 } == Array(repeating: 200, count: 6))
        }
    }

    @Test("without a handler pool, the same requests on one thread run one at a time")
    func inlineHandlersSerialize() throws {
        var configuration = TestServer.configuration(threads: 1)
        configuration.handlerThreads = 0
        // The second request's head is not even read while the first handler holds the only
        // thread: no first-head deadline, or it would close that connection meanwhile.
        configuration.firstRequestHeadTimeoutSeconds = 0
        try TestServer.with(configuration) { server in
            server.handler.togetherTarget.store(2, ordering: .relaxed)
            let statuses = Mutex<[Int]>([])
            let done = DispatchGroup()
            for _ in 0..<2 {
                done.enter()
                let port = server.port
                Thread {
                    let client = LoopbackHTTPClient(port: port, timeoutSeconds: 30)
                    let status = (try? client.send(method: "GET", path: "/together"))?.status ?? -1
                    statuses.withLock { $0.append(status) }
                    done.leave()
                }.start()
            }
            done.wait()
            // The first gives up after 10 s alone (503); the second then reaches the target.
            #expect(statuses.withLock { $0.sorted() } == [200, 503])
        }
    }
}
