import Foundation
import Glibc
import JSON
import Logging

/// How log lines are written: for people (`text`, swift-log's stream format) or for log
/// shippers (`json`, one object per line).
public enum LogFormat: String, Sendable, CaseIterable {
    case text
    case json
}

/// Writes each record as one JSON object on one line: `time` (UTC, milliseconds), `level`,
/// `logger`, `message`, then the metadata (request id, route, status, task id, ExApp, ...) as
/// fields of their own, so a log shipper needs no parsing rules. A metadata key never replaces
/// one of the four fixed fields: it is written as `metadata.<key>` instead.
struct JSONLogHandler: LogHandler {
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info
    let label: String
    /// Where a finished line goes (with its newline); standard error unless a test captures it.
    let write: @Sendable (String) -> Void

    init(label: String, write: @escaping @Sendable (String) -> Void = JSONLogHandler.writeToStandardError) {
        self.label = label
        self.write = write
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    static let fixedFields: Set<String> = ["time", "level", "logger", "message"]

    func log(
        level: Logger.Level, message: Logger.Message, metadata explicit: Logger.Metadata?, source: String, file: String,
        function: String, line: UInt
    ) {
        let all = explicit.map { metadata.merging($0) { _, new in new } } ?? metadata
        write(Self.line(level: level, label: label, message: message.description, metadata: all))
    }

    /// One record as its line, newline included.
    static func line(level: Logger.Level, label: String, message: String, metadata: Logger.Metadata) -> String {
        var fields: [(String, JSONValue)] = [
            ("time", .string(timestamp())), ("level", .string(level.rawValue)), ("logger", .string(label)),
            ("message", .string(message)),
        ]
        for key in metadata.keys.sorted() {
            guard let value = metadata[key] else { continue }
            fields.append((fixedFields.contains(key) ? "metadata.\(key)" : key, json(value)))
        }
        return JSONValue.object(JSONObject(fields)).serializedString() + "\n"
    }

    private static func json(_ value: Logger.Metadata.Value) -> JSONValue {
        switch value {
        case .string(let text): .string(text)
        case .stringConvertible(let convertible): .string(convertible.description)
        case .array(let values): .array(values.map(json))
        case .dictionary(let entries): .object(JSONObject(entries.keys.sorted().map { ($0, json(entries[$0]!)) }))
        }
    }

    /// `2026-12-05T01:02:03.456Z`.
    static func timestamp(_ date: Date = Date()) -> String {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        let milliseconds = Int((date.timeIntervalSince1970 - Double(seconds)) * 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let millis = milliseconds < 10 ? "00\(milliseconds)" : milliseconds < 100 ? "0\(milliseconds)" : "\(milliseconds)"
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T"
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).\(millis)Z"
    }

    /// One `write` to standard error per line (more only if the kernel takes part of it), so
    /// lines of different threads do not interleave.
    @Sendable static func writeToStandardError(_ line: String) {
        let bytes = Array(line.utf8)
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(2, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return
                }
                offset += written
            }
        }
    }
}
