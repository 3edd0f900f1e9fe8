import CJansson

extension JSONValue {
    /// Compact UTF-8 encoding by jansson, object members in order.
    ///
    /// Doubles are written with 17 significant digits, so they parse back to the same value; NaN and
    /// infinity, which JSON cannot express, are written as `null`. U+0000 is written as `\u0000`.
    public func serialized() -> [UInt8] {
        do {
            return try JanssonEncoder.encode(self)
        } catch {
            // Swift values always form valid jansson trees; only allocation can fail here.
            fatalError("JSON encoding ran out of memory: \(error)")
        }
    }

    /// ``serialized()`` as a `String`.
    public func serializedString() -> String {
        String(decoding: serialized(), as: UTF8.self)
    }
}
