import Foundation
import Logging
import Postgres
import Synchronization
import TaskDispatchTesting

/// Runs `body` on a thread of its own and waits for it without blocking a Swift concurrency
/// thread, because libpq calls block and belong on plain threads.
func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}


/// A value shared between threads.
final class Shared<Value: Sendable>: Sendable {
    private let value: Mutex<Value>

    init(_ value: Value) {
        self.value = Mutex(value)
    }

    func update(_ change: (inout Value) -> Void) {
        value.withLock { change(&$0) }
    }

    var current: Value {
        value.withLock { $0 }
    }
}

/// A logger that stays quiet in test output.
let quietLogger: Logger = {
    var logger = Logger(label: "PostgresTests")
    logger.logLevel = .warning
    return logger
}()

/// A log handler that keeps every message, to check what the library logs.
struct RecordingLogHandler: LogHandler {
    let messages = Shared<[(level: Logger.Level, message: String)]>([])
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        messages.update { $0.append((event.level, event.message.description)) }
    }
}

/// A connection to a fresh database of its own.
func freshConnection(prefix: String = "conn", usesPreparedStatements: Bool = true, logger: Logger = quietLogger) throws -> PostgresConnection {
    try PostgresConnection(
        connectionString: try TestDatabase.create(prefix: prefix), usesPreparedStatements: usesPreparedStatements, logger: logger)
}
