import CLibPQ

/// Keeps passwords from connection strings out of error messages.
///
/// libpq does not normally echo a password, but a malformed connection string makes it quote
/// the token it choked on, which may be (part of) one. Every message derived from a connection
/// attempt therefore has each password the string could carry replaced before anyone sees it.
enum ConnectionStringSecrets {
    static let replacement = "<redacted>"

    /// `text` with every password found in `connectionString` replaced.
    static func redact(_ text: String, connectionString: String) -> String {
        var redacted = text
        for secret in passwords(in: connectionString) where !secret.isEmpty {
            redacted = redacted.replacing(secret, with: replacement)
        }
        return redacted
    }

    /// The password libpq parses from the string, plus anything that looks like one in case the string does not parse.
    static func passwords(in connectionString: String) -> [String] {
        var found = scannedPasswords(in: connectionString)
        if let parsed = parsedOption("password", in: connectionString) {
            found.append(parsed)
        }
        return found
    }

    /// The value libpq parses for `keyword` (keyword/value or URI form), or `nil` if absent or if the string does not parse.
    static func parsedOption(_ keyword: String, in connectionString: String) -> String? {
        var parseError: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(connectionString, &parseError) else {
            PQfreemem(parseError)
            return nil
        }
        defer { PQconninfoFree(options) }
        var option = options
        while let name = option.pointee.keyword {
            if String(cString: name) == keyword {
                return option.pointee.val.map { String(cString: $0) }
            }
            option += 1
        }
        return nil
    }

    /// Passwords found by reading the text directly: `password=value`, `password='quoted value'`,
    /// `?password=value&…` and `scheme://user:password@host`.
    private static func scannedPasswords(in connectionString: String) -> [String] {
        var found: [String] = []
        var rest = Substring(connectionString)
        while let keyword = rest.firstRange(of: "password") {
            rest = rest[keyword.upperBound...].drop(while: { $0 == " " })
            guard rest.first == "=" else { continue }
            rest = rest.dropFirst().drop(while: { $0 == " " })
            if rest.first == "'" {
                let quoted = rest.dropFirst()
                let end = quoted.firstIndex(of: "'") ?? quoted.endIndex
                found.append(String(quoted[..<end]).replacing("\\", with: ""))
                rest = quoted[end...]
            } else {
                let end = rest.firstIndex(where: { $0 == " " || $0 == "&" }) ?? rest.endIndex
                found.append(String(rest[..<end]))
                rest = rest[end...]
            }
        }
        if let scheme = connectionString.firstRange(of: "://") {
            let authority = connectionString[scheme.upperBound...].prefix(while: { $0 != "/" && $0 != "?" })
            if let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") {
                found.append(String(authority[authority.index(after: colon)..<at]))
            }
        }
        return found
    }
}
