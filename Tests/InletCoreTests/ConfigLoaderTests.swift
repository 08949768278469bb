import Foundation
import InletCore
import Testing

@Suite("ConfigLoader")
struct ConfigLoaderTests {
    @Test func loadsEveryKey() throws {
        let yaml = """
            data_dir: ./data
            listen: 0.0.0.0:9090
            workers: 8
            plugins: [./.build/plugins, /opt/inlet/plugins]
            shutdown_grace: 45s
            queue: { max_size: 500, retention: 3d }
            log: { level: debug }
            sources:
              - name: self
                connector: git
                plugin: ./path/libx.so
                enabled: false
                schedule: every 5m
                timeout: 15m
                concurrency: 2
                retry: { max_attempts: 3, backoff: 1s, max_backoff: 1h30m }
                circuit_breaker: { failure_threshold: 7, open_for: 2m }
                webhook: { secrets: ["${S1}", "${S2}"] }
                config: { url: ., branch: main, depth: 3 }
              - name: acme
                connector: github
                schedule: "*/15 * * * *"
                webhook: { secret: "${GITHUB_WEBHOOK_SECRET}" }
            """
        let config = try ConfigLoader.load(
            yaml: yaml,
            file: "/etc/inlet/inlet.yaml",
            environment: ["S1": "one", "S2": "two", "GITHUB_WEBHOOK_SECRET": "hush"]
        )
        #expect(config.file == "/etc/inlet/inlet.yaml")
        #expect(config.dataDirectory == "/etc/inlet/data")
        #expect(config.listen == InletConfig.ListenAddress(host: "0.0.0.0", port: 9090))
        #expect(config.workers == 8)
        #expect(config.pluginDirectories == ["/etc/inlet/.build/plugins", "/opt/inlet/plugins"])
        #expect(config.shutdownGrace == .seconds(45))
        #expect(config.queue == InletConfig.Queue(maxSize: 500, retention: .seconds(3 * 86_400)))
        #expect(config.log.level == .debug)
        #expect(config.sources.map(\.name) == ["self", "acme"])

        let source = try #require(config.source(named: "self"))
        #expect(source.connector == "git")
        #expect(source.pluginPath == "/etc/inlet/path/libx.so")
        #expect(source.isEnabled == false)
        #expect(source.schedule == .interval(.seconds(300)))
        #expect(source.timeout == .seconds(900))
        #expect(source.concurrency == 2)
        #expect(source.retry == SourceConfig.Retry(maxAttempts: 3, backoff: .seconds(1), maxBackoff: .seconds(5_400)))
        #expect(source.circuitBreaker == SourceConfig.CircuitBreaker(failureThreshold: 7, openFor: .seconds(120)))
        #expect(source.webhook == SourceConfig.Webhook(secrets: ["one", "two"]))
        #expect(source.config.jsonString() == #"{"url":".","branch":"main","depth":3}"#)
        #expect(source.location == ConfigLocation(file: "/etc/inlet/inlet.yaml", line: 9, column: 5))
        #expect(source.connectorLocation == ConfigLocation(file: "/etc/inlet/inlet.yaml", line: 10, column: 16))
        #expect(source.config.line == 19 && source.config.column == 13)

        let acme = try #require(config.source(named: "acme"))
        #expect(acme.schedule == .cron(try CronExpression("*/15 * * * *")))
        #expect(acme.webhook == SourceConfig.Webhook(secrets: ["hush"]))
    }

    @Test func aSourceMovedInTheFileHasTheSameSettings() throws {
        let entry = """
              - name: self
                connector: folder
                schedule: every 5m
                config: { path: ., exclude: [".git/**"] }
            """
        let before = try ConfigLoader.load(yaml: "sources:\n" + entry, file: "/etc/inlet.yaml", environment: [:]).sources[0]
        let moved = try ConfigLoader.load(
            yaml: "# a comment\nworkers: 2\n\nsources:\n" + entry, file: "/etc/inlet.yaml", environment: [:]
        ).sources[0]
        #expect(moved.location.line != before.location.line)
        #expect(moved != before)
        #expect(moved.hasSameSettings(as: before))
        let changed = try ConfigLoader.load(
            yaml: "sources:\n" + entry.replacingOccurrences(of: ".git/**", with: ".build/**"), file: "/etc/inlet.yaml", environment: [:]
        ).sources[0]
        #expect(!changed.hasSameSettings(as: before))
        var rescheduled = before
        rescheduled.schedule = nil
        #expect(!rescheduled.hasSameSettings(as: before))
    }

    @Test func appliesDefaults() throws {
        let yaml = """
            sources:
              - name: a
                connector: git
            """
        let config = try ConfigLoader.load(yaml: yaml, file: "/srv/inlet/inlet.yaml", environment: [:])
        #expect(config.dataDirectory == "/srv/inlet/var")
        #expect(config.listen.description == "127.0.0.1:8080")
        #expect(config.workers == 4)
        #expect(config.pluginDirectories == [])
        #expect(config.shutdownGrace == .seconds(30))
        #expect(config.queue.maxSize == 10_000)
        #expect(config.queue.retention == .seconds(7 * 86_400))
        #expect(config.log.level == .info)

        let source = try #require(config.sources.first)
        #expect(source.pluginPath == nil)
        #expect(source.isEnabled)
        #expect(source.schedule == nil)
        #expect(source.timeout == .seconds(30 * 60))
        #expect(source.concurrency == 1)
        #expect(source.retry == SourceConfig.Retry(maxAttempts: 5, backoff: .seconds(2), maxBackoff: .seconds(600)))
        #expect(source.circuitBreaker == SourceConfig.CircuitBreaker(failureThreshold: 5, openFor: .seconds(60)))
        #expect(source.webhook == nil)
        #expect(source.config.jsonString() == "{}")
    }

    @Test(arguments: ["", "# nothing yet\n", "~\n"])
    func emptyFileMeansAllDefaults(yaml: String) throws {
        let config = try ConfigLoader.load(yaml: yaml, file: "/srv/inlet.yaml", environment: [:])
        #expect(config == InletConfig(file: "/srv/inlet.yaml", dataDirectory: "/srv/var"))
    }

    @Test func collectsEveryErrorWithItsPosition() {
        let yaml = """
            data_dir: ./var
            sourcs: []
            workers: 0
            listen: localhost:70000
            queue:
              max_size: many
              retention: 7x
            log:
              level: verbose
            sources:
              - name: Self
                connector: git
                shedule: every 5m
                timeout: 10
              - name: ok
                connector: git
                retry: { backoff: 2s, max_backoff: 1s }
            """
        #expect(ConfigTestSupport.positionedMessages(yaml) == [
            "2:1: unknown key 'sourcs'; did you mean 'sources'?",
            "3:10: workers: must be at least 1, got 0",
            "4:9: listen: port 70000 out of range 0-65535",
            "6:13: queue.max_size: expected an integer, got 'many'",
            "7:14: queue.retention: invalid duration '7x': unknown unit 'x' (use ms, s, m, h or d)",
            "9:10: log.level: unknown level 'verbose'; expected one of trace, debug, info, notice, warning, error, critical",
            "11:11: source 'Self': name: invalid source name 'Self': use lowercase letters, digits, '_' and '-', starting with a letter or digit",
            "13:5: source 'Self': unknown key 'shedule'; did you mean 'schedule'?",
            "14:14: source 'Self': timeout: invalid duration '10': '10' has no unit (use ms, s, m, h or d, e.g. 10s)",
            "17:40: source 'ok': retry: max_backoff (1s) must not be less than backoff (2s)",
        ])
    }

    @Test func theHostsOwnConfigKeyIsRefused() {
        let yaml = """
            sources:
              - name: a
                connector: git
                config:
                  url: ./repo
                  _inlet: { data_dir: /etc }
            """
        #expect(ConfigTestSupport.positionedMessages(yaml) == [
            "6:7: source 'a': config: '_inlet' is reserved: the host adds it (source, data_dir, config_dir)",
        ])
    }

    @Test func errorDescriptionIsFileLineColumnMessage() throws {
        let error = try #require(ConfigTestSupport.errors("workers: two\n", file: "conf/inlet.yaml").first)
        #expect(error.description == "conf/inlet.yaml:1:10: workers: expected an integer, got 'two'")
        #expect(error.code == .invalidValue)
        #expect((error.file, error.line, error.column) == ("conf/inlet.yaml", 1, 10))
    }

    @Test func throwsAllErrorsTogether() {
        #expect {
            try ConfigLoader.load(yaml: "workers: 0\nlisten: nowhere\n", file: "x.yaml", environment: [:])
        } throws: { error in
            guard let errors = error as? ConfigErrors else { return false }
            return errors.description == """
                x.yaml:1:10: workers: must be at least 1, got 0
                x.yaml:2:9: listen: expected host:port, e.g. 127.0.0.1:8080, got 'nowhere'
                """
        }
    }

    @Test func unknownKeyWithoutCloseMatchListsAllowedKeys() {
        #expect(ConfigTestSupport.positionedMessages("queue: { colour: red }\n") == [
            "1:10: queue: unknown key 'colour'; allowed keys: max_size, retention, synchronous",
        ])
        #expect(ConfigTestSupport.positionedMessages("zzz: 1\n") == [
            "1:1: unknown key 'zzz'; allowed keys: data_dir, listen, workers, plugins, shutdown_grace, queue, log, sources, watchdog, admin",
        ])
    }

    @Test func unknownKeysInNestedSourceBlocks() {
        let yaml = """
            sources:
              - name: a
                connector: git
                retry: { max_attempt: 3 }
                circuit_breaker: { threshold: 3 }
                webhook: { secrets: [x], secert: y }
            """
        #expect(ConfigTestSupport.positionedMessages(yaml) == [
            "4:14: source 'a': retry: unknown key 'max_attempt'; did you mean 'max_attempts'?",
            "5:24: source 'a': circuit_breaker: unknown key 'threshold'; allowed keys: failure_threshold, open_for",
            "6:30: source 'a': webhook: unknown key 'secert'; did you mean 'secret'?",
        ])
    }

    @Test func yamlSyntaxErrorIsOneErrorAtYamlsPosition() throws {
        let errors = ConfigTestSupport.errors("workers: 4\nlisten: [a, b\n")
        #expect(errors.count == 1)
        let error = try #require(errors.first)
        #expect(error.code == .syntax)
        #expect((error.line, error.column) == (3, 1))
        #expect(error.message.hasPrefix("invalid YAML: did not find expected ',' or ']'"))
    }

    @Test func yamlDuplicateKeyIsReportedAtTheRepetition() throws {
        let error = try #require(ConfigTestSupport.errors("workers: 4\nlisten: a:1\n\n# more\nworkers: 5\n").first)
        #expect(error.code == .syntax)
        #expect(error.message == "invalid YAML: duplicate key 'workers' (first at 1:1)")
        #expect((error.line, error.column) == (5, 1))

        let nested = """
            sources:
              - name: a
                connector: git
                config:
                  connector: not-a-duplicate
              - name: b
                connector: git
                enabled: true
                connector: github
            """
        #expect(ConfigTestSupport.positionedMessages(nested) == [
            "9:5: invalid YAML: duplicate key 'connector' (first at 7:5)"
        ])
        // Flow mappings fall back to the first occurrence.
        #expect(ConfigTestSupport.positionedMessages("queue: { max_size: 1, max_size: 2 }\n") == [
            "1:10: invalid YAML: key 'max_size' appears more than once in the same mapping"
        ])
    }

    @Test func rootMustBeAMapping() {
        #expect(ConfigTestSupport.positionedMessages("- a\n- b\n") == ["1:1: expected a mapping, got a list"])
    }

    @Test func duplicateSourceNames() {
        let yaml = """
            sources:
              - name: self
                connector: git
              - name: other
                connector: git
              - name: self
                connector: github
            """
        let errors = ConfigTestSupport.errors(yaml)
        #expect(errors.map(\.code) == [.duplicateName])
        #expect(ConfigTestSupport.positionedMessages(yaml) == [
            "6:11: duplicate source name 'self' (first defined at 2:11)"
        ])
    }

    @Test func missingRequiredKeys() {
        let yaml = """
            sources:
              - connector: git
              - name: b
              - name: c
                connector:
            """
        #expect(ConfigTestSupport.positionedMessages(yaml) == [
            "2:5: source #1: missing required key 'name'",
            "3:5: source 'b': missing required key 'connector'",
            "5:15: source 'c': connector: expected a string, got null",
        ])
        #expect(ConfigTestSupport.errors(yaml).map(\.code) == [.missingKey, .missingKey, .invalidValue])
    }

    @Test func wrongContainerTypes() {
        let yaml = """
            plugins: ./plugins
            queue: 5
            sources:
              name: a
            """
        #expect(ConfigTestSupport.positionedMessages(yaml) == [
            "1:10: plugins: expected a list, got './plugins'",
            "2:8: queue: expected a mapping, got '5'",
            "4:3: sources: expected a list, got a mapping",
        ])
    }

    @Test func sourceValueErrors() {
        let yaml = """
            sources:
              - name: a
                connector: git
                enabled: yes
                schedule: daily
                concurrency: 0
                config: [1, 2]
              - name: b
                connector: git
                schedule: every 0s
                webhook: { secret: a, secrets: [b] }
              - name: c
                connector: git
                schedule: 61 * * * *
                webhook: { secrets: [] }
                circuit_breaker: { failure_threshold: -1, open_for: 0s }
            """
        #expect(ConfigTestSupport.positionedMessages(yaml) == [
            "4:14: source 'a': enabled: expected true or false, got 'yes'",
            "5:15: source 'a': schedule: expected 'every <duration>' (e.g. every 5m) or a 5-field cron expression (e.g. */15 * * * *), got 'daily'",
            "6:18: source 'a': concurrency: must be at least 1, got 0",
            "7:13: source 'a': config: expected a mapping of connector settings",
            "10:15: source 'b': schedule: the interval in 'every 0s' must be greater than zero",
            "11:27: source 'b': webhook: use either 'secret' or 'secrets', not both",
            "14:15: source 'c': schedule: cron: minute 61 out of range 0-59",
            "15:25: source 'c': webhook.secrets: list at least one secret",
            "16:43: source 'c': circuit_breaker.failure_threshold: must be at least 1, got -1",
            "16:57: source 'c': circuit_breaker.open_for: must be greater than zero",
        ])
    }

    @Test func webhookWithoutSecretIsAnError() {
        let yaml = """
            sources:
              - name: a
                connector: github
                webhook: {}
              - name: b
                connector: github
                webhook: { secret: "${HOOK_SECRET:-}" }
              - name: c
                connector: github
                webhook: { secrets: ["fine", "  "] }
            """
        #expect(ConfigTestSupport.positionedMessages(yaml) == [
            "4:14: source 'a': webhook: missing 'secret' (or 'secrets' to accept several)",
            "7:24: source 'b': webhook.secret: must not be empty",
            "10:34: source 'c': webhook.secrets[1]: must not be blank",
        ])
    }

    @Test func adminToken() throws {
        let config = try ConfigLoader.load(
            yaml: "admin: { token: \"${INLET_ADMIN_TOKEN}\" }\n", file: "/i.yaml", environment: ["INLET_ADMIN_TOKEN": "t0ken"])
        #expect(config.admin == InletConfig.Admin(token: "t0ken"))
        let absent = try ConfigLoader.load(yaml: "workers: 1\n", file: "/i.yaml", environment: [:])
        #expect(absent.admin == nil)
        #expect(ConfigTestSupport.positionedMessages("admin: {}\n") == [
            "1:8: admin: missing 'token' (remove the admin block to disable the admin API)",
        ])
        #expect(ConfigTestSupport.positionedMessages("admin: { token: \"${T:-}\" }\n") == [
            "1:17: admin.token: must not be empty",
        ])
        // An Authorization header's value loses the spaces around it: such a token never matches.
        #expect(ConfigTestSupport.positionedMessages("admin: { token: \" \" }\n") == ["1:17: admin.token: must not be blank"])
        #expect(ConfigTestSupport.positionedMessages("admin: { token: \"t0ken \" }\n") == [
            "1:17: admin.token: has spaces around it, which no request can send: remove them",
        ])
        #expect(ConfigTestSupport.positionedMessages("admin: { tokn: x }\n") == [
            "1:8: admin: missing 'token' (remove the admin block to disable the admin API)",
            "1:10: admin: unknown key 'tokn'; did you mean 'token'?",
        ])
    }

    @Test func listenForms() throws {
        let v6 = try ConfigLoader.load(yaml: "listen: '[::1]:8443'\n", file: "/i.yaml", environment: [:])
        #expect(v6.listen == InletConfig.ListenAddress(host: "::1", port: 8443))
        #expect(v6.listen.description == "[::1]:8443")
        #expect(ConfigTestSupport.positionedMessages("listen: 127.0.0.1\n") == [
            "1:9: listen: expected host:port, e.g. 127.0.0.1:8080, got '127.0.0.1'"
        ])
        #expect(ConfigTestSupport.positionedMessages("listen: ':8080'\n") == [
            "1:9: listen: missing host in ':8080' (use 0.0.0.0:PORT to listen on all interfaces)"
        ])
        let any = try ConfigLoader.load(yaml: "listen: 127.0.0.1:0\n", file: "/i.yaml", environment: [:])
        #expect(any.listen == InletConfig.ListenAddress(host: "127.0.0.1", port: 0))
        #expect(ConfigTestSupport.positionedMessages("listen: localhost:http\n") == [
            "1:9: listen: invalid port 'http' in 'localhost:http'"
        ])
    }

    @Test func sourceErrorsCanBeRaisedLaterAtTheSourcesPosition() throws {
        let yaml = """
            sources:
              - name: typo
                connector: gti
            """
        let config = try ConfigLoader.load(yaml: yaml, file: "inlet.yaml", environment: [:])
        let source = try #require(config.sources.first)
        #expect(
            source.connectorError("plugin not found for connector 'gti'; did you mean 'git'?").description
                == "inlet.yaml:3:16: source 'typo': plugin not found for connector 'gti'; did you mean 'git'?"
        )
        #expect(source.error("disabled by policy").description == "inlet.yaml:2:5: source 'typo': disabled by policy")
    }

    @Test func spellingSuggestions() {
        #expect(SpellingSuggestion.closest(to: "sourcs", in: ["data_dir", "sources"]) == "sources")
        #expect(SpellingSuggestion.closest(to: "gti", in: ["github", "git"]) == "git")
        #expect(SpellingSuggestion.closest(to: "Workers", in: ["workers"]) == "workers")
        #expect(SpellingSuggestion.closest(to: "colour", in: ["max_size", "retention"]) == nil)
        #expect(SpellingSuggestion.distance("kitten", "sitting") == 3)
        #expect(SpellingSuggestion.distance("ab", "ba") == 1)
    }
}

@Suite("ConfigLoader: daemon settings")
struct ConfigDaemonSettingsTests {
    @Test func watchdogAndDurabilityHaveDefaultsAndAreRead() throws {
        let defaults = try ConfigLoader.load(yaml: "", file: "/tmp/x.yaml", environment: [:])
        #expect(defaults.watchdog == InletConfig.Watchdog(cancelGrace: .seconds(30), maxStuckCalls: 3))
        #expect(defaults.queue.synchronous == .normal)
        let config = try ConfigLoader.load(
            yaml: "watchdog: { cancel_grace: 5s, max_stuck_calls: 1 }\nqueue: { synchronous: full }\n", file: "/tmp/x.yaml", environment: [:])
        #expect(config.watchdog == InletConfig.Watchdog(cancelGrace: .seconds(5), maxStuckCalls: 1))
        #expect(config.queue.synchronous == .full)
        #expect(throws: ConfigErrors.self) {
            try ConfigLoader.load(yaml: "queue: { synchronous: fast }\n", file: "/tmp/x.yaml", environment: [:])
        }
    }
}
