import Foundation
import JSON
import Postgres
import Synchronization
import TaskDispatchTesting
import Testing

/// The incident this server exists to end, literally: five items fan out, a successor waits for
/// all five, three workers take the items and report at the same instant. A counter-based
/// fan-in dispatched the successor once per item that finished at about that time; here it must
/// be claimed exactly once, and never before all five succeeded.
@Suite("Fan-in incident")
struct FanInIncidentTests {
    static let rounds = 500
    static let items = 5
    /// Items each of the three workers takes.
    static let shares = [2, 2, 1]

    /// What one round's workers saw.
    struct RoundLog: Sendable {
        var itemsClaimed: [Int64] = []
        var successorClaims = 0
        var earlySuccessorClaims = 0
        var errors: [String] = []
    }

    @Test("500 rounds: 5 items, 3 workers reporting together (single, batched and grouped results); the successor is claimed once per round, never early")
    func fanInExactlyOnce() throws {
        let server = try TestServer()
        defer { server.stop() }
        let alice = server.client(server.alice)
        let database = try server.database()
        defer { database.close() }
        var totals = RoundLog()
        var notAfterItems: [String] = []
        for round in 0..<Self.rounds {
            let scheduled = try alice.call("POST", "schedule/batch", json: ["tasks": .array(
                (0..<Self.items).map { item in ["type": "core:text2text", "appId": "app", "input": ["input": .string("r\(round) item \(item)")]] }
                    + [["type": "core:text2text", "appId": "app", "input": ["input": .string("r\(round) successor")],
                        "dependsOn": .array((0..<Self.items).map { .string("#\($0)") })]])])
            let ids = try #require(scheduled.data?["tasks"]?.arrayValue?.compactMap { $0["id"]?.int64Value }, "\(scheduled.bodyText)")
            let successor = ids[Self.items]
            let log = Self.runRound(port: server.port, worker: server.worker, successor: successor, seed: UInt64(round))
            totals.itemsClaimed += log.itemsClaimed
            totals.successorClaims += log.successorClaims
            totals.earlySuccessorClaims += log.earlySuccessorClaims
            totals.errors += log.errors.map { "round \(round): \($0)" }
            #expect(log.successorClaims == 1, "round \(round): successor claimed \(log.successorClaims) times")
            // Claimed after every item ended, each SUCCESSFUL (microsecond timestamps).
            let late = try database.query(
                """
                SELECT count(*) AS n FROM tasks AS item, tasks AS successor
                WHERE successor.id = $1 AND item.id = ANY($2::bigint[])
                  AND item.status = 3 AND item.ended_at <= successor.started_at
                """, [successor, ids.dropLast().map(String.init).joined(separator: ",").wrappedInBraces]).rows.first?.int64("n")
            if late != Int64(Self.items) { notAfterItems.append("round \(round): \(late ?? -1) of \(Self.items) items ended before the claim") }
            if !totals.errors.isEmpty { break }
        }
        print(
            "fan-in incident: rounds=\(Self.rounds) items claimed=\(totals.itemsClaimed.count) "
                + "successor claims=\(totals.successorClaims) early=\(totals.earlySuccessorClaims) "
                + "duplicates=\(max(0, totals.successorClaims - Self.rounds)) claimed before all items ended=\(notAfterItems.count)")
        #expect(totals.errors.isEmpty, "\(totals.errors.prefix(5))")
        #expect(totals.successorClaims == Self.rounds)
        #expect(totals.earlySuccessorClaims == 0)
        #expect(Set(totals.itemsClaimed).count == Self.rounds * Self.items)
        #expect(notAfterItems.isEmpty, "\(notAfterItems.prefix(5))")
    }

    /// One round: the workers take their shares, meet, report after a random pause of up to
    /// 2 ms (the two-item worker alternately in one batch call or two calls), meet again, and
    /// each asks for one more task at the same moment.
    static func runRound(port: UInt16, worker: Caller, successor: Int64, seed: UInt64) -> RoundLog {
        let logs = ThreadSlots<RoundLog>(count: shares.count)
        let claimed = StartingGate(expected: shares.count)
        let reported = StartingGate(expected: shares.count)
        onThreads(shares.count) { index in
            var log = RoundLog()
            let client = APIClient(port: port, caller: worker)
            var generator = SplitMix64(state: seed &* 31 &+ UInt64(index))
            var mine: [Int64] = []
            var tries = 0
            while mine.count < shares[index], tries < 200, log.errors.isEmpty {
                tries += 1
                do {
                    let response = try client.next()
                    guard let id = response.taskID else { continue }
                    if id == successor {
                        log.earlySuccessorClaims += 1
                    } else {
                        mine.append(id)
                    }
                } catch {
                    log.errors.append("next: \(error)")
                }
            }
            log.itemsClaimed = mine
            claimed.arriveAndWait()
            usleep(UInt32(generator.next() % 2_000))
            do {
                if mine.count > 1, seed % 2 == 0 {
                    let response = try client.call("POST", "tasks_provider/results", json: ["results": .array(mine.map { id in
                        ["taskId": .int(id), "output": ["output": "done"]]
                    })])
                    let statuses = response.data?["results"]?.arrayValue?.compactMap { $0["status"]?.int64Value }
                    if response.status != 200 || statuses != mine.map({ _ in 200 }) {
                        log.errors.append("batched results: \(response.status) \(response.bodyText)")
                    }
                } else {
                    for id in mine {
                        let response = try client.call("POST", "tasks_provider/\(id)/result", json: ["output": ["output": "done"]])
                        if response.status != 200 { log.errors.append("result \(id): \(response.status) \(response.bodyText)") }
                    }
                }
            } catch {
                log.errors.append("result: \(error)")
            }
            reported.arriveAndWait()
            do {
                if try client.next().taskID == successor { log.successorClaims += 1 }
            } catch {
                log.errors.append("next after the results: \(error)")
            }
            logs.store(log, at: index)
        }
        return logs.values.compactMap { $0 }.reduce(into: RoundLog()) { total, log in
            total.itemsClaimed += log.itemsClaimed
            total.successorClaims += log.successorClaims
            total.earlySuccessorClaims += log.earlySuccessorClaims
            total.errors += log.errors
        }
    }
}

extension String {
    /// `1,2,3` as the PostgreSQL array literal `{1,2,3}`.
    var wrappedInBraces: String { "{\(self)}" }
}
