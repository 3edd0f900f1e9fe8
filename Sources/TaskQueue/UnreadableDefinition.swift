/// A provider or custom task type row that the server cannot decode (written by an older
/// version, or changed by hand). It is skipped, so that it takes nothing down but itself:
/// every other type keeps working, and operators see it in `admin/status`.
public struct UnreadableDefinition: Sendable, Hashable {
    public enum Kind: String, Sendable {
        case provider
        case customTaskType = "custom task type"
    }

    public let kind: Kind
    public let id: String
    /// Why it could not be read.
    public let reason: String

    public init(kind: Kind, id: String, reason: String) {
        self.kind = kind
        self.id = id
        self.reason = reason
    }
}

/// Rows decoded one by one: those that decode, and the ones that did not.
struct DecodedRows<Value> {
    var values: [Value] = []
    var unreadable: [UnreadableDefinition] = []

    init<Rows: Sequence>(
        _ rows: Rows, kind: UnreadableDefinition.Kind, id: (Rows.Element) -> String?,
        decode: (Rows.Element) throws(StoreError) -> Value
    ) {
        for row in rows {
            do {
                values.append(try decode(row))
            } catch {
                unreadable.append(UnreadableDefinition(kind: kind, id: id(row) ?? "(no id)", reason: error.description))
            }
        }
    }
}
