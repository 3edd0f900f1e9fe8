import BackgroundThreads
import Logging
@testable import MicroHTTP
import TaskDispatchTesting
import Testing

@Suite("Deadline sweeper lifecycle")
struct DeadlineSweeperTests {
    private func makeSweeper() -> DeadlineSweeper {
        let context = DaemonContext(
            handler: EchoHandler(), logger: Logger(label: "MicroHTTPTests") { _ in SwiftLogNoOpLogHandler() },
            maxBodyBytes: 0,
            connections: ConnectionRegistry(
                limits: ConnectionRegistry.Limits(total: 16, perAddress: nil),
                allowances: ConnectionRegistry.Allowances(request: .seconds(1), firstHead: nil)),
            tls: nil, handlers: nil)
        return DeadlineSweeper(daemon: context)
    }

    @Test("nothing runs before start")
    func idleUntilStarted() {
        #expect(makeSweeper().thread.state == .idle)
    }

    @Test("stop without start returns at once, and a later start does nothing")
    func stopBeforeStart() {
        let sweeper = makeSweeper()
        #expect(ThreadProbe.returns(within: 2) { sweeper.stop() })
        sweeper.start()
        #expect(sweeper.thread.state == .stopped)
    }

    @Test("start twice, stop twice: one thread, ended by the first stop within its one-second sleep")
    func startTwiceStopTwice() {
        let sweeper = makeSweeper()
        sweeper.start()
        sweeper.start()
        #expect(sweeper.thread.state == .running)
        #expect(ThreadProbe.returns(within: 0.9) { sweeper.stop() })
        #expect(sweeper.thread.state == .stopped)
        #expect(ThreadProbe.returns(within: 0.5) { sweeper.stop() })
    }
}
