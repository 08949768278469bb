/// One configured source: a named instance of a connector with its schedule, limits and
/// plugin-specific `config:` block.
package struct SourceConfig: Sendable, Hashable {
    /// How failed jobs are retried (`retry`).
    package struct Retry: Sendable, Hashable {
        /// Attempts in total, the first included, before a job is quarantined (`max_attempts`).
        package var maxAttempts: Int
        /// Delay before the first retry; doubles per attempt (`backoff`).
        package var backoff: Duration
        /// Cap on the doubled delay (`max_backoff`), never below `backoff`.
        package var maxBackoff: Duration

        /// Creates a retry policy; defaults match an absent `retry:` block.
        package init(maxAttempts: Int = 5, backoff: Duration = .seconds(2), maxBackoff: Duration = .seconds(600)) {
            self.maxAttempts = maxAttempts
            self.backoff = backoff
            self.maxBackoff = maxBackoff
        }
    }

    /// When the source stops being called after repeated failures (`circuit_breaker`).
    package struct CircuitBreaker: Sendable, Hashable {
        /// Consecutive failed jobs that open the circuit (`failure_threshold`).
        package var failureThreshold: Int
        /// How long it stays open before one trial job (`open_for`).
        package var openFor: Duration

        /// Creates breaker settings; defaults match an absent `circuit_breaker:` block.
        package init(failureThreshold: Int = 5, openFor: Duration = .seconds(60)) {
            self.failureThreshold = failureThreshold
            self.openFor = openFor
        }
    }

    /// How webhook deliveries to `/webhooks/{name}` are verified (`webhook`).
    package struct Webhook: Sendable, Hashable {
        /// Accepted signing secrets, none empty. More than one lets a secret be rotated without
        /// refusing deliveries signed with the old one.
        package var secrets: [String]

        /// Creates webhook settings.
        package init(secrets: [String]) {
            self.secrets = secrets
        }
    }

    /// Unique name, `[a-z0-9][a-z0-9_-]*`; it appears in URLs, job rows and metrics labels.
    package var name: String
    /// The connector name a plugin registers, e.g. `git`.
    package var connector: String
    /// An explicit plugin file (`plugin`), absolute; nil means "look the connector up in the
    /// plugin folders".
    package var pluginPath: String?
    /// Whether the source runs at all (`enabled`).
    package var isEnabled: Bool
    /// When it syncs on its own; nil means only on webhooks or on demand.
    package var schedule: SourceSchedule?
    /// Longest a single job may run before it is cancelled (`timeout`).
    package var timeout: Duration
    /// Jobs of this source run at once (`concurrency`), at least 1.
    package var concurrency: Int
    /// Retry policy.
    package var retry: Retry
    /// Circuit breaker settings.
    package var circuitBreaker: CircuitBreaker
    /// Webhook verification; nil means the source takes no webhooks.
    package var webhook: Webhook?
    /// The connector's own settings, always an object, handed to the plugin as JSON.
    package var config: ConfigValue
    /// Where the source's entry starts in the config file, for errors found after loading
    /// (say, no plugin registers its connector).
    package var location: ConfigLocation
    /// Where the `connector` value was written, for "plugin not found for connector" errors.
    package var connectorLocation: ConfigLocation
    /// Where each key of the entry was written (`plugin`, `concurrency`, `webhook` …), for
    /// problems found after loading.
    package var keyLocations: [String: ConfigLocation] = [:]

    /// Where `key` was written in the source's entry, else where the entry starts.
    package func location(of key: String) -> ConfigLocation { keyLocations[key] ?? location }

    /// Creates a source; defaults match a config entry that omits the key.
    package init(
        name: String,
        connector: String,
        pluginPath: String? = nil,
        isEnabled: Bool = true,
        schedule: SourceSchedule? = nil,
        timeout: Duration = .seconds(1_800),
        concurrency: Int = 1,
        retry: Retry = Retry(),
        circuitBreaker: CircuitBreaker = CircuitBreaker(),
        webhook: Webhook? = nil,
        config: ConfigValue = [:],
        location: ConfigLocation,
        connectorLocation: ConfigLocation? = nil
    ) {
        self.name = name
        self.connector = connector
        self.pluginPath = pluginPath
        self.isEnabled = isEnabled
        self.schedule = schedule
        self.timeout = timeout
        self.concurrency = concurrency
        self.retry = retry
        self.circuitBreaker = circuitBreaker
        self.webhook = webhook
        self.config = config
        self.location = location
        self.connectorLocation = connectorLocation ?? location
    }

    /// Whether `other` asks for the same source: every setting the same, wherever in the file
    /// each is written. (`==` also compares the places: an edit above an entry moves its lines.)
    package func hasSameSettings(as other: SourceConfig) -> Bool {
        var moved = other
        moved.location = location
        moved.connectorLocation = connectorLocation
        moved.keyLocations = keyLocations
        moved.config = config
        return moved == self && other.config.jsonString() == config.jsonString()
    }

    /// An error about this source at its `connector` value, prefixed with the source's name,
    /// e.g. `source 'self': plugin not found for connector 'gti'`.
    package func connectorError(_ message: String, code: ConfigError.Code = .invalidValue) -> ConfigError {
        ConfigError(code: code, at: connectorLocation, message: "source '\(name)': \(message)")
    }

    /// An error about this source at the start of its entry, prefixed with the source's name.
    package func error(_ message: String, code: ConfigError.Code = .invalidValue) -> ConfigError {
        ConfigError(code: code, at: location, message: "source '\(name)': \(message)")
    }
}
