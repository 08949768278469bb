/// Why a plugin could not be loaded or instantiated. The message always names the plugin's path.
package struct PluginError: Error, CustomStringConvertible, Sendable {
    /// The reason, as a code that can grow.
    package struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String {
            case missingFile, notSharedObject, cannotLoad, symbolMissing, noTable, abiMismatch, abiTooNew
            case invalidTable, duplicateName, createFailed, createDeferred, unknownConnector, nameMismatch, hostFailed
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }
        package static let missingFile = Code(.missingFile)
        package static let notSharedObject = Code(.notSharedObject)
        package static let cannotLoad = Code(.cannotLoad)
        package static let symbolMissing = Code(.symbolMissing)
        package static let noTable = Code(.noTable)
        package static let abiMismatch = Code(.abiMismatch)
        package static let abiTooNew = Code(.abiTooNew)
        package static let invalidTable = Code(.invalidTable)
        package static let duplicateName = Code(.duplicateName)
        package static let createFailed = Code(.createFailed)
        /// The plugin's `create` answered RETRY or RATE_LIMITED: try again later (after
        /// `retryAfter` for a rate limit).
        package static let createDeferred = Code(.createDeferred)
        package static let unknownConnector = Code(.unknownConnector)
        package static let nameMismatch = Code(.nameMismatch)
        /// The host could not prepare an instance (its data folder): transient, unlike a
        /// plugin's own refusal (`createFailed`).
        package static let hostFailed = Code(.hostFailed)
        package var description: String { base.rawValue }
    }

    package var code: Code
    /// The plugin file concerned (empty when none, e.g. an unknown connector name).
    package var path: String
    /// Why, in words, without the path.
    package var reason: String
    /// For `createDeferred` by a rate limit: how long to wait (nil: RETRY's backoff).
    package var retryAfter: Duration?

    package init(_ code: Code, path: String, _ reason: String, retryAfter: Duration? = nil) {
        self.code = code
        self.path = path
        self.reason = reason
        self.retryAfter = retryAfter
    }

    package var description: String { path.isEmpty ? reason : "plugin \(path): \(reason)" }
}
