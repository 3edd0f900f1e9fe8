import Foundation
import Postgres
import TaskDispatchApp

/// Counters read before and after a measured phase: write transactions, this process's CPU,
/// and the CPU of the database's processes (from /proc, when the database runs on this machine).
struct BenchProbe {
    let transactionID: Int64?
    let processCPU: Double
    let databaseCPU: [Int32: Double]?

    static func read(_ connection: PostgresConnection) -> BenchProbe {
        let xid = try? connection.query("SELECT txid_snapshot_xmax(txid_current_snapshot()) AS xid").rows.first?.int64("xid")
        return BenchProbe(transactionID: xid ?? nil, processCPU: processCPUSeconds(), databaseCPU: databaseCPU(connection))
    }

    /// user + system CPU seconds of this process.
    static func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1_000_000 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    /// utime + stime of every PostgreSQL process the server lists, by pid; nil when /proc does
    /// not show them as postgres processes (a remote database, or not Linux).
    static func databaseCPU(_ connection: PostgresConnection) -> [Int32: Double]? {
        guard let rows = try? connection.query("SELECT pid FROM pg_stat_activity").rows else { return nil }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        var cpu: [Int32: Double] = [:]
        for row in rows {
            guard let pid = row.int64("pid").map(Int32.init) else { continue }
            guard let command = try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8),
                  command.hasPrefix("postgres"),
                  let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")")
            else { return nil }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
            cpu[pid] = (user + system) / ticks
        }
        return cpu
    }

    /// CPU used between `start` and `end` by the processes seen at the end (new ones from zero).
    static func databaseCPU(from start: [Int32: Double]?, to end: [Int32: Double]?) -> Double? {
        guard let start, let end else { return nil }
        return end.reduce(0) { sum, entry in sum + max(0, entry.value - (start[entry.key] ?? 0)) }
    }
}
