import Foundation
import Testing
@testable import OCSAPI

@Suite("Credential decoding (no I/O)")
struct CredentialDecodingTests {
    @Test("base64 of every length decodes to the bytes Foundation encoded", arguments: 0..<40)
    func roundTrip(length: Int) {
        let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        let encoded = Data(bytes).base64EncodedString()
        #expect(Base64.decode(Substring(encoded)) == bytes)
    }

    @Test("malformed base64 is refused", arguments: [
        "abc", "abcde", "ab=c", "a===", "ab==cd==", "ab c", "ab-_", "abc\u{e9}", "====",
    ])
    func malformed(text: String) {
        #expect(Base64.decode(Substring(text)) == nil)
    }

    @Test("user and secret: split at the first colon, blanks around the header trimmed")
    func userAndSecret() {
        let encoded = Data("alice:s3cret:with:colons".utf8).base64EncodedString()
        #expect(Authenticator.decodeUserAndSecret(" \t\(encoded) ")! == ("alice", "s3cret:with:colons"))
        #expect(Authenticator.decodeUserAndSecret(Data(":secret".utf8).base64EncodedString())! == ("", "secret"))
        #expect(Authenticator.decodeUserAndSecret(Data("é:ü".utf8).base64EncodedString())! == ("é", "ü"))
    }

    @Test("no colon, a NUL byte, invalid UTF-8 or bad base64: malformed", arguments: [
        Data("no-colon".utf8).base64EncodedString(),
        Data("user:se\u{0}cret".utf8).base64EncodedString(),
        Data([0x75, 0x3A, 0xFF, 0xFE]).base64EncodedString(),
        "!!!not-base64!!!", "", "   ",
    ])
    func malformedCredentials(encoded: String) {
        #expect(Authenticator.decodeUserAndSecret(encoded) == nil)
    }
}
