import JSON

/// An input value that stands for a predecessor's output: `{"$fromTask": 12, "output": "output"}`
/// in the input key `inputKey` is replaced by task 12's output value `output` when the task is
/// released. Only whole input values are references (not elements of lists).
public struct OutputReference: Sendable, Equatable {
    public var inputKey: String
    public var task: TaskReference
    public var outputKey: String

    /// The member that marks an object as a reference.
    public static let marker = "$fromTask"

    /// The references among `input`'s values, in key order. A value that is an object with a
    /// `$fromTask` member must be a well-formed reference; the error says what is wrong.
    public static func references(in input: JSONObject, batchItems: Bool) throws(ServiceError) -> [OutputReference] {
        var references: [OutputReference] = []
        for (key, value) in input {
            guard let object = value.objectValue, let named = object[marker] else { continue }
            guard object.keys.count == 2, let outputKey = object["output"]?.stringValue, !outputKey.isEmpty else {
                throw .invalid(
                    "input '\(key)': a reference is {\"\(marker)\": <task id\(batchItems ? " or \"#N\"" : "")>, \"output\": \"<output key>\"} "
                        + "and nothing else")
            }
            guard let task = TaskReference(named, batchItems: batchItems) else {
                throw .invalid(
                    "input '\(key)': \(marker) must be a task id\(batchItems ? " or \"#N\" naming an earlier item of the batch" : "")")
            }
            references.append(OutputReference(inputKey: key, task: task, outputKey: outputKey))
        }
        return references
    }

    /// The value this reference stands for, in the form the input stores it.
    var json: JSONValue {
        .object([Self.marker: task.json, "output": .string(outputKey)])
    }

    /// What a predecessor left for its successors to read.
    public struct Source: Sendable, Equatable {
        public var status: TaskStatus?
        public var output: JSONObject?

        public init(status: TaskStatus?, output: JSONObject?) {
            self.status = status
            self.output = output
        }
    }

    /// `input` with every reference replaced by its predecessor's output value, or why it
    /// cannot be: a predecessor that did not succeed, was deleted, or has no such output.
    public static func substitute(
        _ references: [OutputReference], into input: JSONObject, sources: [Int64: Source]
    ) -> Result<JSONObject, ReferenceFailure> {
        var substituted = input
        for reference in references {
            guard let id = reference.task.taskID else { return .failure(ReferenceFailure(reference: reference, problem: "was never stored")) }
            guard let source = sources[id], let status = source.status else {
                return .failure(ReferenceFailure(reference: reference, problem: "task \(id) was deleted"))
            }
            guard status == .successful, let output = source.output else {
                return .failure(ReferenceFailure(reference: reference, problem: "task \(id) ended \(status.wireName)"))
            }
            guard let value = output[reference.outputKey], !value.isNull else {
                return .failure(ReferenceFailure(reference: reference, problem: "task \(id) has no output '\(reference.outputKey)'"))
            }
            substituted[reference.inputKey] = value
        }
        return .success(substituted)
    }
}

/// Why a reference could not be replaced, for the successor's error message.
public struct ReferenceFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public var reference: OutputReference
    public var problem: String

    public var description: String {
        "input '\(reference.inputKey)' from \(reference.task) output '\(reference.outputKey)': \(problem)"
    }
}
