import Glibc

/// A point in monotonic time after which an exchange gives up.
struct Deadline {
    private let nanoseconds: UInt64

    init(secondsFromNow seconds: Double) {
        let clamped = seconds.isFinite ? min(max(seconds, 0), 365 * 24 * 3600) : 0
        nanoseconds = Self.now() + UInt64(clamped * 1_000_000_000)
    }

    /// Milliseconds left, rounded up so that a wait never ends before the deadline; 0 once passed.
    var remainingMilliseconds: Int32 {
        let now = Self.now()
        guard now < nanoseconds else { return 0 }
        return Int32(clamping: (nanoseconds - now + 999_999) / 1_000_000)
    }

    private static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }
}
