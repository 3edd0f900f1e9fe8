/// Claims of one task and single results that arrive together go to PostgreSQL together: one
/// claim statement for every waiting `next` with the same types, one transaction for every
/// waiting result. Each call still gets its own task or outcome, exactly as from ``TaskStore``.
///
/// The database's cost is per statement and per commit far more than per row (compare
/// `next_batch` with `next`), so under load this is what keeps one-task-per-request workers
/// near the database's own speed; a call that arrives alone runs at once.
public final class WorkerCallBatcher: Sendable {
    /// What makes claims interchangeable: the same types, for the same ExApp, on the same lease.
    struct ClaimKey: Hashable, Sendable {
        let types: [String]
        let claimant: String
        let leaseSeconds: Int
        let leaseSecondsByType: [String: Int]
        let providers: [String: String]
    }

    private let claims: Coalescer<ClaimKey, Void, TaskRecord?>
    private let results: Coalescer<Int, TaskReport, ReportOutcome>

    /// - Parameter maxBatch: The most calls one statement or transaction serves.
    public init(store: TaskStore, retryPolicy: RetryPolicy, maxBatch: Int = 100) {
        claims = Coalescer(maxBatch: maxBatch) { key, calls in
            do throws(StoreError) {
                let claimed = try store.claim(
                    types: key.types, limit: calls.count, claimant: key.claimant, leaseSeconds: key.leaseSeconds,
                    leaseSecondsByType: key.leaseSecondsByType, providers: key.providers)
                // In claim order: the caller that waited longest gets the first task.
                return calls.indices.map { .success($0 < claimed.count ? claimed[$0] : nil) }
            } catch {
                return Array(repeating: .failure(error), count: calls.count)
            }
        }
        results = Coalescer(maxBatch: maxBatch) { _, reports in
            Self.record(reports, store: store, retryPolicy: retryPolicy)
        }
    }

    /// As ``TaskStore/claim(types:limit:claimant:leaseSeconds:leaseSecondsByType:providers:)`` with a
    /// limit of 1: the task claimed for this caller, or nil when none was ready.
    public func claimOne(
        types: [String], claimant: String, leaseSeconds: Int, leaseSecondsByType: [String: Int] = [:],
        providers: [String: String] = [:]
    ) throws(StoreError) -> TaskRecord? {
        let key = ClaimKey(
            types: types, claimant: claimant, leaseSeconds: leaseSeconds, leaseSecondsByType: leaseSecondsByType,
            providers: providers)
        return try claims.run((), key: key)
    }

    /// As ``TaskStore/reportResult(id:result:attempt:retryPolicy:)``.
    public func reportResult(_ report: TaskReport) throws(StoreError) -> ReportOutcome {
        try results.run(report, key: 0)
    }

    /// One report alone is one statement; several share a transaction. If that transaction
    /// fails for a reason other than the database being unavailable, each report is tried on
    /// its own, so one report the database refuses does not fail the others.
    static func record(
        _ reports: [TaskReport], store: TaskStore, retryPolicy: RetryPolicy
    ) -> [Result<ReportOutcome, StoreError>] {
        func alone(_ report: TaskReport) -> Result<ReportOutcome, StoreError> {
            do throws(StoreError) {
                return .success(
                    try store.reportResult(id: report.taskID, result: report.result, attempt: report.attempt, retryPolicy: retryPolicy))
            } catch {
                return .failure(error)
            }
        }
        guard reports.count > 1 else { return reports.map(alone) }
        do throws(StoreError) {
            return try store.reportResults(reports, retryPolicy: retryPolicy).map { .success($0) }
        } catch where error.isUnavailable {
            return Array(repeating: .failure(error), count: reports.count)
        } catch {
            return reports.map(alone)
        }
    }
}
