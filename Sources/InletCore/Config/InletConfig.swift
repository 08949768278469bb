/// The whole daemon configuration, as loaded from `inlet.yaml` by `ConfigLoader`.
///
/// Paths are absolute: relative ones were resolved against the config file's folder, so the
/// daemon behaves the same whatever directory it's started from.
package struct InletConfig: Sendable, Hashable {
    /// Where `host:port` the HTTP server listens (`listen`).
    package struct ListenAddress: Sendable, Hashable, CustomStringConvertible {
        /// Host name or IP address; IPv6 without brackets.
        package var host: String
        /// 0...65535; 0 lets the system pick a free port.
        package var port: Int

        /// Creates an address.
        package init(host: String, port: Int) {
            self.host = host
            self.port = port
        }

        /// Parses `host:port`, or `[v6-address]:port`.
        /// - Throws: `ConfigValueError` when either part is missing or the port is out of range.
        package init(_ text: String) throws(ConfigValueError) {
            let host: Substring
            let portText: Substring
            if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
                host = text[text.index(after: text.startIndex)..<close]
                let rest = text[text.index(after: close)...]
                guard rest.first == ":" else {
                    throw ConfigValueError("expected [address]:port, e.g. [::1]:8080, got '\(text)'")
                }
                portText = rest.dropFirst()
            } else {
                guard let colon = text.lastIndex(of: ":"), !text[..<colon].contains(":") else {
                    throw ConfigValueError("expected host:port, e.g. 127.0.0.1:8080, got '\(text)'")
                }
                host = text[..<colon]
                portText = text[text.index(after: colon)...]
            }
            guard !host.isEmpty else {
                throw ConfigValueError("missing host in '\(text)' (use 0.0.0.0:PORT to listen on all interfaces)")
            }
            guard let port = Int(portText) else {
                throw ConfigValueError("invalid port '\(portText)' in '\(text)'")
            }
            // 0 asks the system for a free port (tests, several daemons on one machine); the
            // daemon logs the port it got.
            guard (0...65_535).contains(port) else {
                throw ConfigValueError("port \(port) out of range 0-65535")
            }
            self.init(host: String(host), port: port)
        }

        /// `host:port`, bracketing IPv6 addresses.
        package var description: String {
            host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        }
    }

    /// The durable job queue's limits (`queue`).
    package struct Queue: Sendable, Hashable {
        /// Queued jobs beyond which webhooks get 429 and schedules skip ticks (`max_size`).
        package var maxSize: Int
        /// How long finished jobs are kept before pruning (`retention`).
        package var retention: Duration
        /// SQLite's `synchronous` in WAL mode (`synchronous`): `normal` survives any crash of the
        /// process; `full` also survives a power loss, at the cost of an fsync per commit.
        package var synchronous: Synchronous

        /// Creates queue limits; defaults match an absent `queue:` block.
        package init(maxSize: Int = 10_000, retention: Duration = .seconds(7 * 86_400), synchronous: Synchronous = .normal) {
            self.maxSize = maxSize
            self.retention = retention
            self.synchronous = synchronous
        }
    }

    /// Durability of commits (`queue.synchronous`).
    package enum Synchronous: String, Sendable, Hashable {
        case normal, full
    }

    /// What happens to plugin calls that outlive their job's `timeout` (`watchdog`).
    package struct Watchdog: Sendable, Hashable {
        /// After the timeout the call is asked to stop; past this grace the attempt is counted as
        /// failed and the call is abandoned on its thread (`cancel_grace`).
        package var cancelGrace: Duration = .seconds(30)
        /// Abandoned calls of one source after which that source is disabled (`max_stuck_calls`).
        package var maxStuckCalls: Int = 3

        package init(cancelGrace: Duration = .seconds(30), maxStuckCalls: Int = 3) {
            self.cancelGrace = cancelGrace
            self.maxStuckCalls = maxStuckCalls
        }
    }

    /// Log verbosity, the swift-log levels by name (`log.level`).
    package enum LogLevel: String, Sendable, Hashable, CaseIterable {
        /// Everything, including per-record detail.
        case trace
        /// Diagnostics for developers.
        case debug
        /// Normal operation (the default).
        case info
        /// Noteworthy but normal events.
        case notice
        /// Something went wrong but was handled.
        case warning
        /// An operation failed.
        case error
        /// The daemon can't go on.
        case critical
    }

    /// Logging settings (`log`).
    package struct Log: Sendable, Hashable {
        /// The least severe level written.
        package var level: LogLevel

        /// Creates log settings; defaults match an absent `log:` block.
        package init(level: LogLevel = .info) {
            self.level = level
        }
    }

    /// The admin API's settings (`admin`).
    package struct Admin: Sendable, Hashable {
        /// The bearer token every `/v1` request must carry (`token`).
        package var token: String

        /// Creates admin settings.
        package init(token: String) {
            self.token = token
        }
    }

    /// The config file, as the user named it; error messages use it.
    package var file: String
    /// Where the database and blobs live (`data_dir`), absolute.
    package var dataDirectory: String
    /// The HTTP server's address (`listen`).
    package var listen: ListenAddress
    /// Jobs run at once across all sources (`workers`), at least 1.
    package var workers: Int
    /// Folders scanned for connector plugins (`plugins`), absolute.
    package var pluginDirectories: [String]
    /// How long running jobs get to finish on SIGTERM before being cancelled (`shutdown_grace`).
    package var shutdownGrace: Duration
    /// Queue limits (`queue`).
    package var queue: Queue
    /// Stuck plugin calls (`watchdog`).
    package var watchdog = Watchdog()
    /// Logging (`log`).
    package var log: Log
    /// The admin API under `/v1`; nil (no `admin:` block) disables it.
    package var admin: Admin?
    /// The sources, in file order, with unique names (`sources`).
    package var sources: [SourceConfig]

    /// Creates a configuration; defaults match a config file that omits the key, with relative
    /// defaults already resolved by the caller.
    package init(
        file: String,
        dataDirectory: String,
        listen: ListenAddress = ListenAddress(host: "127.0.0.1", port: 8080),
        workers: Int = 4,
        pluginDirectories: [String] = [],
        shutdownGrace: Duration = .seconds(30),
        queue: Queue = Queue(),
        log: Log = Log(),
        sources: [SourceConfig] = []
    ) {
        self.file = file
        self.dataDirectory = dataDirectory
        self.listen = listen
        self.workers = workers
        self.pluginDirectories = pluginDirectories
        self.shutdownGrace = shutdownGrace
        self.queue = queue
        self.log = log
        self.sources = sources
    }

    /// The source named `name`, if any.
    package func source(named name: String) -> SourceConfig? {
        sources.first { $0.name == name }
    }
}
