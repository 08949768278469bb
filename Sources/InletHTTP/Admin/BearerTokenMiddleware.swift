import Crypto
import Foundation
import HTTPTypes
import Hummingbird

/// Guards the admin API: 404 while no `admin.token` is configured (the API is off), 401 without
/// `Authorization: Bearer <token>`. The token is read per request, so a reload changes it.
struct BearerTokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let config: LiveConfig

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        try Self.authorize(request, config: config)
        return try await next(request, context)
    }

    /// Throws the admin API's answer to `request` unless the API is on and the request carries
    /// its token (also for `/v1` paths no route matches: they must not tell more than a 404 would).
    static func authorize(_ request: Request, config: LiveConfig) throws {
        guard let token = config.config.admin?.token else {
            throw APIError(.notFound, code: "admin_disabled", "the admin API is disabled: set admin.token in the config")
        }
        guard let header = request.headers[.authorization], let presented = Self.bearerToken(in: header),
            Self.constantTimeEqual(Array(presented.utf8), Array(token.utf8))
        else {
            throw APIError(
                .unauthorized, code: "unauthorized", "missing or wrong bearer token",
                headers: [.wwwAuthenticate: #"Bearer realm="inlet""#])
        }
    }

    /// The credentials of a `Bearer` Authorization header: the scheme in any case, then one or
    /// more spaces (RFC 9110 §11.1, §11.4); nil for any other scheme.
    static func bearerToken(in header: String) -> Substring? {
        guard let space = header.firstIndex(of: " "), header[..<space].lowercased() == "bearer" else { return nil }
        return header[space...].drop { $0 == " " }
    }

    /// Compares digests, so neither the length nor the first differing byte shows in the timing.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        let left = Array(SHA256.hash(data: a))
        let right = Array(SHA256.hash(data: b))
        var difference: UInt8 = 0
        for index in left.indices { difference |= left[index] ^ right[index] }
        return difference == 0
    }
}
