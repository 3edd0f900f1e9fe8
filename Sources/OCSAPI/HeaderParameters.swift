/// A header value with `;`-separated parameters, such as
/// `multipart/form-data; boundary="a b"` or `form-data; name="file"; filename="x.png"`.
///
/// Parameter names compare without case; values are tokens or quoted strings (RFC 9110
/// section 5.6.6) whose backslash escapes are undone.
struct HeaderParameters: Equatable {
    /// The part before the first `;`, trimmed and lowercased (`multipart/form-data`).
    let value: String
    /// Parameter names lowercased; the first occurrence of a name wins.
    let parameters: [String: String]

    /// Nil when a quoted string is not closed or a parameter has no `=`.
    init?(_ text: String) {
        let bytes = Array(text.utf8)
        var index = 0
        func skipWhitespace() {
            while index < bytes.count, bytes[index] == UInt8(ascii: " ") || bytes[index] == UInt8(ascii: "\t") { index += 1 }
        }
        let valueEnd = bytes.firstIndex(of: UInt8(ascii: ";")) ?? bytes.count
        value = String(decoding: bytes[..<valueEnd], as: UTF8.self).trimmingWhitespace().lowercased()
        index = valueEnd
        var parameters: [String: String] = [:]
        while index < bytes.count {
            index += 1  // the ';'
            skipWhitespace()
            if index == bytes.count { break }
            let nameStart = index
            while index < bytes.count, bytes[index] != UInt8(ascii: "="), bytes[index] != UInt8(ascii: ";") { index += 1 }
            guard index < bytes.count, bytes[index] == UInt8(ascii: "=") else { return nil }
            let name = String(decoding: bytes[nameStart..<index], as: UTF8.self).trimmingWhitespace().lowercased()
            index += 1
            skipWhitespace()
            var parameterValue: [UInt8] = []
            if index < bytes.count, bytes[index] == UInt8(ascii: "\"") {
                index += 1
                var closed = false
                while index < bytes.count {
                    let byte = bytes[index]
                    if byte == UInt8(ascii: "\\"), index + 1 < bytes.count {
                        parameterValue.append(bytes[index + 1])
                        index += 2
                    } else if byte == UInt8(ascii: "\"") {
                        closed = true
                        index += 1
                        break
                    } else {
                        parameterValue.append(byte)
                        index += 1
                    }
                }
                guard closed else { return nil }
                skipWhitespace()
                guard index == bytes.count || bytes[index] == UInt8(ascii: ";") else { return nil }
            } else {
                let start = index
                while index < bytes.count, bytes[index] != UInt8(ascii: ";") { index += 1 }
                parameterValue = Array(String(decoding: bytes[start..<index], as: UTF8.self).trimmingWhitespace().utf8)
            }
            if parameters[name] == nil { parameters[name] = String(decoding: parameterValue, as: UTF8.self) }
        }
        self.parameters = parameters
    }
}

extension String {
    func trimmingWhitespace() -> String {
        let isWhitespace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isWhitespace($0) }), let last = lastIndex(where: { !isWhitespace($0) })
        else { return "" }
        return String(self[first...last])
    }
}
