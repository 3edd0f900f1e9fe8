import MicroHTTP
import Testing

@Suite("HTTPHeaders")
struct HTTPHeadersTests {
    @Test("lookup ignores case, keeps order and repeats")
    func lookup() {
        var headers = HTTPHeaders([("Content-Type", "text/plain"), ("X-Tag", "a")])
        headers.add("x-tag", "b")
        #expect(headers["content-type"] == "text/plain")
        #expect(headers["X-TAG"] == "a")
        #expect(headers.values("X-Tag") == ["a", "b"])
        #expect(headers["Missing"] == nil)
        #expect(headers.values("Missing") == [])
        #expect(headers.map(\.name) == ["Content-Type", "X-Tag", "x-tag"])
        #expect(headers.count == 3)
    }

    @Test("a name differing beyond ASCII case does not match")
    func nonASCIINames() {
        let headers: HTTPHeaders = ["X-Ä": "1"]
        #expect(headers["x-ä"] == nil)
        #expect(headers["X-Ä"] == "1")
        #expect(headers["X-A"] == nil)
    }

    @Test("the description shows names only, never values")
    func descriptionHidesValues() {
        let headers: HTTPHeaders = ["Authorization": "Bearer secret"]
        #expect(!"\(headers)".contains("secret"))
        #expect("\(headers)".contains("Authorization"))
    }
}
