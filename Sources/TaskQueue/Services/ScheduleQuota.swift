/// The schedule rate limit as the scheduler applies it: taken after a request is checked and
/// before its tasks are stored, and given back when nothing was stored after all (a refused
/// input file, an idempotent replay, a database failure), so that only scheduled tasks count.
struct ScheduleQuota: Sendable {
    let store: TaskStore
    let limit: ScheduleRateLimit

    /// What was taken, to give back.
    struct Grant {
        let subject: String
        let count: Int
    }

    /// Takes `count` tasks from the user's quota (an ExApp acting for nobody has its app's);
    /// nil when the limit is off. Rate limited over the limit; invalid for a batch larger than
    /// the whole limit, which could never pass.
    func take(userID: String?, appID: String?, count: Int) throws -> Grant? {
        guard limit.isEnabled else { return nil }
        guard count <= limit.limit else {
            throw ServiceError.invalid(
                "a batch of \(count) tasks exceeds the schedule rate limit of \(limit.limit) tasks per \(limit.periodSeconds) s")
        }
        let subject = userID.map { "user:\($0)" } ?? "app:\(appID ?? "")"
        if case .limited(let retryAfter) = try store.consumeScheduleQuota(subject: subject, count: count, limit: limit) {
            throw ServiceError(
                .rateLimited(retryAfterSeconds: retryAfter),
                "too many tasks scheduled: at most \(limit.limit) per \(limit.periodSeconds) s; retry in \(retryAfter) s")
        }
        return Grant(subject: subject, count: count)
    }

    /// Gives a grant back. Best effort: if the database fails now, the tasks count until the
    /// window ends, which errs on the side of the limit.
    func giveBack(_ grant: Grant?) {
        guard let grant else { return }
        try? store.returnScheduleQuota(subject: grant.subject, count: grant.count)
    }

    /// Runs `body` with `count` tasks taken from the quota, giving them back when it throws
    /// or when `stored` says nothing was stored.
    func spending<T>(userID: String?, appID: String?, count: Int, _ body: () throws -> T, stored: (T) -> Bool) throws -> T {
        let grant = try take(userID: userID, appID: appID, count: count)
        do {
            let result = try body()
            if !stored(result) { giveBack(grant) }
            return result
        } catch {
            giveBack(grant)
            throw error
        }
    }
}
