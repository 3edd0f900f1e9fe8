import BackgroundThreads
import Logging
import OCSAPI
import Postgres
import TaskQueue

/// Wakes this process's long polls: one `LISTEN` connection per server process, on a
/// dedicated thread (libpq blocks).
///
/// Each `taskdispatch_ready` notification (``ReadyTaskNotice``) wakes as many waiters per type
/// as tasks became claimable; the notifications that arrive together are added up first. A
/// notification can be lost (the listening connection broke, the database restarted), so
/// while requests wait a backstop check runs every `backstopSeconds`: one statement counting
/// the ready tasks of every waited type. A lost notification therefore delays a task by at
/// most that long, never strands it. After (re)connecting the check runs at once.
///
/// It also listens on ``InputResolver/channel``: a released task whose input names its
/// predecessors' outputs waits for a server to prepare it, and `resolveInputs` does (the
/// maintenance loop is the backstop for a lost notice).
final class ReadyTaskListener: Sendable {
    private let connectionString: String
    private let tasks: TaskStore
    private let waiters: LongPollWaiters
    private let backstop: Duration
    private let resolveInputs: @Sendable () -> Void
    /// Told of the types whose tasks became claimable (nil: unnamed types), for provider triggers.
    private let tasksBecameClaimable: @Sendable ([String]?) -> Void
    private let logger: Logger
    /// Starts, sleeps and stops the loop (internal, so tests can see its state).
    let thread = BackgroundThread(name: "taskdispatch-ready-listener")

    /// How long one wait for a notification lasts, which bounds how late ``stop()`` is noticed.
    private static let waitMilliseconds: Int32 = 200
    /// Most ready tasks counted per type by the backstop check: more waiters than this are
    /// woken by later checks or notifications.
    private static let backstopCountCap = 1000

    init(
        connectionString: String, tasks: TaskStore, waiters: LongPollWaiters, backstopSeconds: Double,
        resolveInputs: @escaping @Sendable () -> Void = {},
        tasksBecameClaimable: @escaping @Sendable ([String]?) -> Void = { _ in }, logger: Logger
    ) {
        self.tasksBecameClaimable = tasksBecameClaimable
        self.connectionString = connectionString
        self.resolveInputs = resolveInputs
        self.tasks = tasks
        self.waiters = waiters
        self.backstop = .milliseconds(Int(backstopSeconds * 1000))
        self.logger = logger
    }

    /// Starts listening on the thread; later calls do nothing.
    func start() {
        thread.start { [self] in run() }
    }

    /// Ends the thread and waits until it has closed its connection; does nothing unless it runs.
    func stop() {
        thread.stop()
    }

    private func run() {
        let listener = PostgresListener(connectionString: connectionString, channels: [ReadyTaskNotice.channel, InputResolver.channel], logger: logger)
        defer {
            waiters.setListening(false)
            listener.close()
        }
        var nextBackstop = ContinuousClock.now + backstop
        var failing = false
        while !thread.shouldStop {
            do {
                switch try listener.next(timeoutMilliseconds: Self.waitMilliseconds) {
                case .connected:
                    if failing { logger.notice("listening for ready tasks again") }
                    failing = false
                    waiters.setListening(true)
                    // Whatever was announced while nobody listened is lost: check now.
                    nextBackstop = .now
                case .notifications(let notifications):
                    wake(for: notifications)
                case .timedOut:
                    break
                }
            } catch {
                waiters.setListening(false)
                if !failing {
                    logger.warning("cannot listen for ready tasks; long polls rely on the backstop check", metadata: ["error": "\(error)"])
                }
                failing = true
                // The database is away: retry after a pause (or stop).
                if !thread.sleep(for: .seconds(1)) { return }
            }
            if ContinuousClock.now >= nextBackstop {
                nextBackstop = .now + backstop
                checkWaitedTypes()
            }
        }
    }

    private func wake(for notifications: [PostgresNotification]) {
        if notifications.contains(where: { $0.channel == InputResolver.channel }) { resolveInputs() }
        var counts: [String: Int] = [:]
        for notification in notifications where notification.channel == ReadyTaskNotice.channel {
            switch ReadyTaskNotice(payload: notification.payload) {
            case .counts(let ready):
                counts.merge(ready, uniquingKeysWith: +)
            case .unspecified:
                tasksBecameClaimable(nil)
                checkWaitedTypes()
                return
            }
        }
        if !counts.isEmpty { tasksBecameClaimable(Array(counts.keys)) }
        waiters.wake(counts)
    }

    /// The backstop: one statement for all waited types, nothing when no request waits.
    private func checkWaitedTypes() {
        let types = waiters.waitedTypes
        guard !types.isEmpty else { return }
        do {
            let ready = try tasks.readyCounts(types: types, cap: Self.backstopCountCap)
            if !ready.isEmpty { waiters.wake(ready) }
        } catch {
            logger.warning("long poll backstop check failed", metadata: ["error": "\(error)"])
        }
    }
}
