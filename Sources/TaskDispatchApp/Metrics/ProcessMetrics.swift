import Foundation
import Glibc

/// The standard process families (`process_cpu_seconds_total`, memory, file descriptors,
/// start time) as Prometheus's client libraries export them, read from `/proc/self`.
enum ProcessMetrics {
    /// The families in the text exposition; counters' TYPE lines are fixed up for OpenMetrics
    /// with the rest.
    static func exposition() -> String {
        var lines: [String] = []
        func family(_ name: String, _ type: String, _ help: String, _ value: Double?) {
            guard let value else { return }
            lines += ["# HELP \(name) \(help)", "# TYPE \(name) \(type)", "\(name) \(format(value))"]
        }
        let stat = selfStat()
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let pageSize = Double(sysconf(Int32(_SC_PAGESIZE)))
        family("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.",
               stat.map { (Double($0.userTicks) + Double($0.systemTicks)) / ticks })
        family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", stat.map { Double($0.residentPages) * pageSize })
        family("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", stat.map { Double($0.virtualBytes) })
        family("process_open_fds", "gauge", "Number of open file descriptors.", openFileDescriptors())
        var limit = rlimit()
        family("process_max_fds", "gauge", "Maximum number of open file descriptors.",
               getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 ? Double(limit.rlim_cur) : nil)
        family("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.",
               stat.flatMap { stat in bootTime().map { $0 + Double(stat.startTicks) / ticks } })
        return lines.joined(separator: "\n") + "\n"
    }

    struct Stat {
        var userTicks: UInt64
        var systemTicks: UInt64
        var startTicks: UInt64
        var virtualBytes: UInt64
        var residentPages: UInt64
    }

    /// `/proc/self/stat`, read after the command name (which may hold spaces and parentheses).
    static func selfStat() -> Stat? {
        guard let text = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
              let end = text.lastIndex(of: ")")
        else { return nil }
        // Fields from the state (field 3) on; utime is field 14, so index 11 here.
        let fields = text[text.index(after: end)...].split(separator: " ")
        guard fields.count > 21, let user = UInt64(fields[11]), let system = UInt64(fields[12]),
              let start = UInt64(fields[19]), let virtual = UInt64(fields[20]), let resident = UInt64(fields[21])
        else { return nil }
        return Stat(userTicks: user, systemTicks: system, startTicks: start, virtualBytes: virtual, residentPages: resident)
    }

    static func bootTime() -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("btime ") {
            return Double(line.dropFirst(6).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }

    static func openFileDescriptors() -> Double? {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return nil }
        // The listing itself holds one descriptor open while it reads.
        return Double(max(entries.count - 1, 0))
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}
