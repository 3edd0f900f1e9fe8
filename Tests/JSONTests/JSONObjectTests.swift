import JSON
import Testing

@Suite("JSONObject")
struct JSONObjectTests {
    @Test func emptyObject() {
        let object = JSONObject()
        #expect(object.isEmpty)
        #expect(object.count == 0)
        #expect(object.keys == [])
        #expect(object["missing"] == nil)
        #expect(Array(object).isEmpty)
    }

    @Test func settingAnExistingKeyReplacesInPlace() {
        var object: JSONObject = ["a": 1, "b": 2, "c": 3]
        object["b"] = "two"
        #expect(object.keys == ["a", "b", "c"])
        #expect(object["b"] == "two")
        object["d"] = .null
        #expect(object.keys == ["a", "b", "c", "d"])
        #expect(object["d"] == .some(.null))
    }

    /// Small objects scan their keys and large ones keep an index: the same answers either
    /// way, while members are added and removed across the boundary.
    @Test func setsAndRemovalsAcrossSizesAgreeWithAModel() throws {
        var object = JSONObject()
        var model: [(String, JSONValue)] = []
        var generator = SystemRandomNumberGenerator()
        for step in 0..<2_000 {
            let key = "k\(Int.random(in: 0..<40, using: &generator))"
            if Bool.random(using: &generator) || model.count < 5 {
                let value = JSONValue.int(Int64(step))
                object[key] = value
                if let index = model.firstIndex(where: { $0.0 == key }) { model[index].1 = value } else { model.append((key, value)) }
            } else {
                object[key] = nil
                model.removeAll { $0.0 == key }
            }
            #expect(object.keys == model.map(\.0))
            for (name, value) in model { #expect(object[name] == value) }
        }
        let parsed = try JSONValue.parse(Array(JSONValue.object(object).serialized()))
        #expect(parsed.objectValue?.keys == object.keys)
        #expect(parsed == .object(object))
    }

    @Test func settingNilRemoves() {
        var object: JSONObject = ["a": 1, "b": 2, "c": 3, "d": 4]
        object["b"] = nil
        #expect(object.keys == ["a", "c", "d"])
        #expect(object.count == 3)
        #expect(object["b"] == nil)
        #expect(object["c"] == 3)
        #expect(object["d"] == 4)
        object["missing"] = nil
        #expect(object.count == 3)
        object["b"] = 5
        #expect(object.keys == ["a", "c", "d", "b"])
        for key in object.keys {
            object[key] = nil
        }
        #expect(object.isEmpty)
    }

    @Test func laterDuplicatesReplaceEarlierOnes() {
        let pairs: [(String, JSONValue)] = [("x", 1), ("y", 2), ("x", 3)]
        let object = JSONObject(pairs)
        #expect(object.keys == ["x", "y"])
        #expect(object["x"] == 3)
        let literal: JSONObject = ["x": 1, "y": 2, "x": 3]
        #expect(literal.keys == ["x", "y"])
        #expect(literal["x"] == 3)
    }

    @Test func iteratesInOrder() {
        let object: JSONObject = ["z": 1, "a": 2, "m": 3]
        #expect(object.map(\.key) == ["z", "a", "m"])
        #expect(object.map(\.value) == [1, 2, 3])
        var seen: [String] = []
        for (key, value) in object {
            seen.append("\(key)=\(value.int64Value ?? -1)")
        }
        #expect(seen == ["z=1", "a=2", "m=3"])
    }

    @Test func equalityIgnoresOrderButNotMembers() {
        let ab: JSONObject = ["a": 1, "b": 2]
        #expect(ab == ["b": 2, "a": 1])
        #expect(ab != ["a": 1, "b": 3])
        #expect(ab != ["a": 1])
        #expect(ab != ["a": 1, "c": 2])
        #expect(ab != ["a": 1, "b": 2, "c": 3])
        #expect(JSONObject([("a", 1.0)]) != JSONObject([("a", 1)]))
    }
}
