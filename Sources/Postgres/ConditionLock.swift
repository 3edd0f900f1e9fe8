import Glibc

/// A value guarded by a POSIX mutex, with a condition variable to wait until the value changes.
///
/// `Synchronization.Mutex` has no condition variable, and blocking waits are what a pool
/// serving MHD worker threads needs, so this pairs `pthread_mutex_t` with `pthread_cond_t`.
/// Both live in manually allocated memory because pthread objects must not move.
final class ConditionLock<State: Sendable>: @unchecked Sendable {
    // @unchecked: `state` is only read or written with `mutex` held.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var state: State

    init(_ initialState: State) {
        state = initialState
        precondition(pthread_mutex_init(mutex, nil) == 0, "pthread_mutex_init failed")
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        defer { pthread_condattr_destroy(&attributes) }
        // Timed waits measure against the monotonic clock, so a wall-clock change cannot stretch a timeout.
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        precondition(pthread_cond_init(condition, &attributes) == 0, "pthread_cond_init failed")
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Runs `body` with exclusive access to the state.
    func withLock<Result, Failure: Error>(_ body: (inout State) throws(Failure) -> Result) throws(Failure) -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&state)
    }

    /// Runs `attempt` with exclusive access to the state until it returns a value, waiting for a
    /// signal between tries. Once `deadline` has passed, `attempt` is told so and must then return or throw.
    func withLock<Result, Failure: Error>(
        waitingUntil deadline: Deadline,
        _ attempt: (inout State, _ deadlinePassed: Bool) throws(Failure) -> Result?
    ) throws(Failure) -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        var deadlinePassed = deadline.hasPassed
        while true {
            if let result = try attempt(&state, deadlinePassed) {
                return result
            }
            precondition(!deadlinePassed, "a waiting attempt must finish once its deadline has passed")
            var time = deadline.time
            let status = pthread_cond_timedwait(condition, mutex, &time)
            deadlinePassed = status == ETIMEDOUT || deadline.hasPassed
        }
    }

    /// Wakes one waiting thread.
    func signalOne() {
        pthread_cond_signal(condition)
    }

    /// Wakes every waiting thread.
    func signalAll() {
        pthread_cond_broadcast(condition)
    }
}

/// A point in time on the monotonic clock that ``ConditionLock`` waits against.
struct Deadline: Sendable {
    private static let clock = CLOCK_MONOTONIC

    fileprivate let time: timespec

    /// The moment `seconds` from now; zero or negative means now.
    init(secondsFromNow seconds: Double) {
        let now = Self.now()
        let delay = max(0, seconds)
        let wholeSeconds = Int(delay)
        var nanoseconds = Int(now.tv_nsec) + Int((delay - Double(wholeSeconds)) * 1_000_000_000)
        var totalSeconds = Int(now.tv_sec) + wholeSeconds
        if nanoseconds >= 1_000_000_000 {
            totalSeconds += 1
            nanoseconds -= 1_000_000_000
        }
        time = timespec(tv_sec: totalSeconds, tv_nsec: nanoseconds)
    }

    var hasPassed: Bool {
        let now = Self.now()
        return now.tv_sec > time.tv_sec || (now.tv_sec == time.tv_sec && now.tv_nsec >= time.tv_nsec)
    }

    private static func now() -> timespec {
        var now = timespec()
        clock_gettime(clock, &now)
        return now
    }
}
