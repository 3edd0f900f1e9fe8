import JSON
import MicroHTTP

/// The two OCS envelope flavours, chosen by the path prefix.
public enum OCSVersion: Sendable, Equatable {
    /// `/ocs/v1.php`: HTTP 200 for everything but 401, `statuscode` 100 for success.
    case v1
    /// `/ocs/v2.php`: the HTTP status and `statuscode` agree.
    case v2
}

/// Builds OCS envelope responses: `{"ocs":{"meta":{...},"data":...}}`.
public enum OCSResponse {
    static let jsonContentType = "application/json; charset=utf-8"

    /// A successful answer with `data`. A v2 204 has no body at all, as Nextcloud sends it.
    public static func success(_ data: JSONValue, status: Int = 200, version: OCSVersion) -> HTTPResponse {
        if status == 204 && version == .v2 { return HTTPResponse(status: 204) }
        return envelope(status: status, message: "OK", data: data, version: version)
    }

    /// An error answer: the message is in both `meta.message` and `data.message`.
    public static func error(_ error: OCSError, version: OCSVersion) -> HTTPResponse {
        var response = envelope(
            status: error.status, message: error.message, data: .object(["message": .string(error.message)]),
            version: version)
        for (name, value) in error.headers { response.headers.add(name, value) }
        return response
    }

    private static func envelope(status: Int, message: String, data: JSONValue, version: OCSVersion) -> HTTPResponse {
        let ok = (200..<300).contains(status)
        var meta: JSONObject
        let httpStatus: Int
        switch version {
        case .v2:
            meta = ["status": .string(ok ? "ok" : "failure"), "statuscode": .int(Int64(status)), "message": .string(message)]
            httpStatus = status
        case .v1:
            let code = status == 200 ? 100 : status
            meta = [
                "status": .string(code == 100 ? "ok" : "failure"), "statuscode": .int(Int64(code)),
                "message": .string(code == 100 ? "OK" : message), "totalitems": "", "itemsperpage": "",
            ]
            httpStatus = status == 401 ? 401 : 200
        }
        let body: JSONValue = ["ocs": ["meta": .object(meta), "data": data]]
        var headers = HTTPHeaders()
        headers.add("Content-Type", jsonContentType)
        return HTTPResponse(status: httpStatus, headers: headers, body: body.serialized())
    }
}
