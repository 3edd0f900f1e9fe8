import JSON
import TaskQueue

/// The body of a webhook call: `{"task": Task}`, the finished task exactly as the API shows it
/// (as Nextcloud sends it).
public enum WebhookPayload {
    public static func body(for task: TaskRecord) -> [UInt8] {
        JSONValue.object(["task": TaskJSON.task(task)]).serialized()
    }
}
