import JSON
import TaskQueue

/// The wire form of tasks and task types, field for field as Nextcloud sends them.
enum TaskJSON {
    static func task(_ task: TaskRecord) -> JSONValue {
        var object: JSONObject = [
            "id": .int(task.id),
            "type": .string(task.type),
            "lastUpdated": .int(task.lastUpdated),
            "status": .string(task.status.wireName),
            "userId": optional(task.userID),
            "appId": .string(task.appID),
            "input": .object(task.input),
            "output": task.output.map(JSONValue.object) ?? .null,
            "customId": .string(task.customID),
            "completionExpectedAt": optional(task.completionExpectedAt),
            "progress": task.progress.map(JSONValue.double) ?? .null,
            "scheduledAt": optional(task.scheduledAt),
            "startedAt": optional(task.startedAt),
            "endedAt": optional(task.endedAt),
            "allowCleanup": .bool(task.allowCleanup),
            "includeWatermark": .bool(task.includeWatermark),
            "userFacingErrorMessage": optional(task.userFacingErrorMessage),
            // Beyond Nextcloud (its clients ignore unknown fields): the claim number, which
            // workers send back as `attempt` to fence stale reports, the lease's end, the
            // priority, and the time a delayed or retried task becomes claimable.
            "attempt": .int(Int64(task.attempt)),
            "leaseExpiresAt": optional(task.leaseExpiresAt),
            "priority": .int(Int64(task.priority)),
            "runAfter": optional(task.runAfter),
        ]
        // Only on tasks scheduled with dependencies: the tasks it depends on, those it still
        // waits for (while it waits, shown as STATUS_SCHEDULED), and its failure policy.
        if let dependsOn = task.dependsOn {
            object["dependsOn"] = .array(dependsOn.map(JSONValue.int))
            object["waitingFor"] = .array((task.status == .waiting ? task.waitingFor : []).map(JSONValue.int))
            object["onDependencyFailure"] = .string((task.dependencyPolicy ?? .cancel).rawValue)
        }
        return .object(object)
    }

    static func tasks(_ tasks: [TaskRecord]) -> JSONValue {
        .array(tasks.map(task))
    }

    static func taskType(_ type: TaskType) -> JSONValue {
        .object([
            "name": .string(type.name),
            "description": .string(type.description),
            "inputShape": shape(type.inputShape),
            "inputShapeEnumValues": enumValues(type.inputShapeEnumValues),
            "inputShapeDefaults": defaults(type.inputShapeDefaults),
            "optionalInputShape": shape(type.optionalInputShape),
            "optionalInputShapeEnumValues": enumValues(type.optionalInputShapeEnumValues),
            "optionalInputShapeDefaults": defaults(type.optionalInputShapeDefaults),
            "outputShape": shape(type.outputShape),
            "outputShapeEnumValues": enumValues(type.outputShapeEnumValues),
            "optionalOutputShape": shape(type.optionalOutputShape),
            "optionalOutputShapeEnumValues": enumValues(type.optionalOutputShapeEnumValues),
        ])
    }

    private static func shape(_ descriptors: [ShapeDescriptor]) -> JSONValue {
        .object(JSONObject(descriptors.map { descriptor in
            (descriptor.key, [
                "name": .string(descriptor.name),
                "description": .string(descriptor.description),
                "type": .string(descriptor.type.wireName),
            ])
        }))
    }

    private static func enumValues(_ values: [String: [ShapeEnumValue]]) -> JSONValue {
        .object(JSONObject(values.keys.sorted().map { key in
            (key, .array((values[key] ?? []).map { ["name": .string($0.name), "value": .string($0.value)] }))
        }))
    }

    private static func defaults(_ values: [String: JSONValue]) -> JSONValue {
        .object(JSONObject(values.keys.sorted().map { key in (key, values[key] ?? .null) }))
    }

    static func optional(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }
    static func optional(_ value: Int64?) -> JSONValue { value.map(JSONValue.int) ?? .null }
}
