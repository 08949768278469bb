import HTTPTypes
import Hummingbird
import Logging

/// Answers requests no route matched the way every other error is answered, in JSON: 405 with
/// `Allow` when the path has routes for other methods, else 404 `not_found`. Under `/v1` the
/// admin API's own checks come first (404 `admin_disabled` while it is off, 401 without the token).
/// An error no handler turned into an answer (a database error) is logged and answered 500
/// `internal` in the same JSON shape (Hummingbird would send an empty 500 and log at debug).
struct UnmatchedRouteMiddleware<Context: RequestContext>: RouterMiddleware {
    let config: LiveConfig
    /// Every route of the surface: method and path pattern (`:name` matches one segment).
    let routes: [(method: HTTPRequest.Method, path: String)]
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await answeringUnmatched(request, context: context, next: next)
        } catch let error as any HTTPResponseError {
            throw error
        } catch let error as CancellationError {
            throw error  // the server is stopping, or the client went away: nothing to answer
        } catch {
            logger.error("\(request.method) \(request.uri.path): \(error)")
            throw APIError(.internalServerError, code: "internal", "\(error)")
        }
    }

    private func answeringUnmatched(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            // Only the router's own not-found responder throws HTTPError: handlers throw APIError.
            let segments = request.uri.path.split(separator: "/", omittingEmptySubsequences: true)
            if segments.first == "v1" { try BearerTokenMiddleware<Context>.authorize(request, config: config) }
            var allowed = routes.filter { Self.matches($0.path, segments) }.map(\.method)
            guard !allowed.isEmpty else {
                throw APIError(.notFound, code: "not_found", "no route for \(request.method) \(request.uri.path)")
            }
            if allowed.contains(.get) { allowed.append(.head) }
            let list = allowed.map(\.rawValue).joined(separator: ", ")
            throw APIError(
                .methodNotAllowed, code: "method_not_allowed", "\(request.uri.path) answers \(list), not \(request.method)",
                headers: [.allow: list])
        }
    }

    /// Whether `segments` (of a request path) fit `pattern`.
    static func matches(_ pattern: String, _ segments: [Substring]) -> Bool {
        let parts = pattern.split(separator: "/", omittingEmptySubsequences: true)
        guard parts.count == segments.count else { return false }
        return zip(parts, segments).allSatisfy { part, segment in part.hasPrefix(":") || part == segment }
    }
}
