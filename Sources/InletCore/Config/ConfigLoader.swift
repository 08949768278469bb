import Foundation
import Yams

/// Loads `inlet.yaml` into an `InletConfig`, reporting every problem in the file at once, each
/// as `FILE:LINE:COLUMN: message`.
///
/// Unknown keys are refused (with a "did you mean" when one is close), `${VAR}` and
/// `${VAR:-default}` are substituted in every scalar value, and relative paths are resolved
/// against the config file's folder.
package enum ConfigLoader {
    static let topLevelKeys = [
        "data_dir", "listen", "workers", "plugins", "shutdown_grace", "queue", "log", "sources", "watchdog", "admin",
    ]

    /// Reads and loads the config file at `path`.
    /// - Parameters:
    ///   - path: the file; messages name it as given here.
    ///   - environment: variables for `${VAR}` substitution.
    /// - Throws: `ConfigErrors` listing every problem found, in file order.
    package static func load(
        path: String,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ConfigErrors) -> InletConfig {
        let yaml = try read(path: path)
        return try load(yaml: yaml, file: path, environment: environment)
    }

    /// A config file with errors, as far as it can still be checked: the errors, and the config
    /// with only the sources that have none of their own (nil when the file does not parse or
    /// its `plugins` list is wrong, which would make every plugin check fail for nothing).
    package struct Checked {
        package var errors: [ConfigError]
        package var checkable: InletConfig?
    }

    /// Loads `path` for `inlet validate`: every error, and what can still be checked beyond them
    /// (each clean source's plugin and config block), so that one run lists everything.
    package static func check(
        path: String, environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> Checked {
        let yaml: String
        do {
            yaml = try read(path: path)
        } catch {
            return Checked(errors: error.errors, checkable: nil)
        }
        let base = URL(fileURLWithPath: path).standardizedFileURL.deletingLastPathComponent().path
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch {
            return Checked(errors: [syntaxError(error, file: path)], checkable: nil)
        }
        var reader = ConfigNodeReader(file: path, environment: environment)
        var flaws = Flaws()
        var config = makeConfig(root, file: path, base: base, reader: &reader, flaws: &flaws)
        guard !flaws.plugins else { return Checked(errors: ConfigErrors(reader.errors).errors, checkable: nil) }
        config.sources.removeAll { flaws.sources.contains($0.name) }
        return Checked(errors: ConfigErrors(reader.errors).errors, checkable: config)
    }

    /// Parts of a config that had errors of their own.
    struct Flaws {
        var plugins = false
        var sources: Set<String> = []
    }

    private static func read(path: String) throws(ConfigErrors) -> String {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            let reason = (error as? CocoaError)?.code == .fileReadNoSuchFile ? "no such file" : error.localizedDescription
            throw ConfigErrors([
                ConfigError(code: .unreadableFile, file: path, line: 0, column: 0, message: "cannot read config file: \(reason)")
            ])
        }
        guard let yaml = String(data: data, encoding: .utf8) else {
            throw ConfigErrors([
                ConfigError(code: .unreadableFile, file: path, line: 0, column: 0, message: "config file is not valid UTF-8")
            ])
        }
        return yaml
    }

    /// Loads config text as if read from `file`, whose folder anchors relative paths.
    /// - Parameters:
    ///   - yaml: the config text.
    ///   - file: the file it stands for; a relative one is taken from the current directory.
    ///   - environment: variables for `${VAR}` substitution.
    /// - Throws: `ConfigErrors` listing every problem found, in file order.
    package static func load(
        yaml: String,
        file: String,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ConfigErrors) -> InletConfig {
        let base = URL(fileURLWithPath: file).standardizedFileURL.deletingLastPathComponent().path
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch {
            throw ConfigErrors([syntaxError(error, file: file)])
        }
        var reader = ConfigNodeReader(file: file, environment: environment)
        var flaws = Flaws()
        let config = makeConfig(root, file: file, base: base, reader: &reader, flaws: &flaws)
        guard reader.errors.isEmpty else {
            throw ConfigErrors(reader.errors)
        }
        return config
    }

    private static func makeConfig(
        _ root: Node?, file: String, base: String, reader: inout ConfigNodeReader, flaws: inout Flaws
    ) -> InletConfig {
        var config = InletConfig(file: file, dataDirectory: ConfigNodeReader.resolve(path: "./var", relativeTo: base))
        // An empty file is a valid config: all defaults, no sources.
        guard let root else { return config }
        if case .scalar(let scalar) = root, scalar.style == .plain, ConfigValue.isCoreNull(scalar.string) {
            return config
        }
        guard let top = reader.mapping(root, label: nil, allowedKeys: topLevelKeys) else { return config }

        if let node = top["data_dir"], let path = reader.path(node, label: "data_dir", relativeTo: base) {
            config.dataDirectory = path
        }
        if let node = top["listen"],
            let listen = reader.value(node, label: "listen", expected: "host:port", InletConfig.ListenAddress.init)
        {
            config.listen = listen
        }
        if let node = top["workers"], let workers = reader.integer(node, label: "workers", minimum: 1) {
            config.workers = workers
        }
        let errorsBeforePlugins = reader.errors.count
        if let node = top["plugins"], let folders = reader.sequence(node, label: "plugins") {
            config.pluginDirectories = folders.enumerated().compactMap { index, folder in
                reader.path(folder, label: "plugins[\(index)]", relativeTo: base)
            }
        }
        flaws.plugins = reader.errors.count > errorsBeforePlugins
        if let node = top["shutdown_grace"],
            let grace = reader.duration(node, label: "shutdown_grace", allowsZero: true)
        {
            config.shutdownGrace = grace
        }
        if let node = top["watchdog"],
            let watchdog = reader.mapping(node, label: "watchdog", allowedKeys: ["cancel_grace", "max_stuck_calls"])
        {
            if let node = watchdog["cancel_grace"], let grace = reader.duration(node, label: "watchdog.cancel_grace", allowsZero: true) {
                config.watchdog.cancelGrace = grace
            }
            if let node = watchdog["max_stuck_calls"],
                let count = reader.integer(node, label: "watchdog.max_stuck_calls", minimum: 1)
            {
                config.watchdog.maxStuckCalls = count
            }
        }
        if let node = top["queue"],
            let queue = reader.mapping(node, label: "queue", allowedKeys: ["max_size", "retention", "synchronous"])
        {
            if let node = queue["synchronous"],
                let mode = reader.value(node, label: "queue.synchronous", expected: "normal or full", { (text: String) throws(ConfigValueError) -> InletConfig.Synchronous in
                    guard let mode = InletConfig.Synchronous(rawValue: text) else { throw ConfigValueError("expected normal or full, got '\(text)'") }
                    return mode
                })
            {
                config.queue.synchronous = mode
            }
            if let node = queue["max_size"], let maxSize = reader.integer(node, label: "queue.max_size", minimum: 1) {
                config.queue.maxSize = maxSize
            }
            if let node = queue["retention"], let retention = reader.duration(node, label: "queue.retention") {
                config.queue.retention = retention
            }
        }
        if let node = top["log"], let log = reader.mapping(node, label: "log", allowedKeys: ["level"]) {
            if let node = log["level"], let level = reader.value(node, label: "log.level", expected: "a log level", logLevel) {
                config.log.level = level
            }
        }
        if let node = top["admin"], let admin = reader.mapping(node, label: "admin", allowedKeys: ["token"]) {
            if let node = admin["token"] {
                if let token = reader.secret(node, label: "admin.token", trimmed: true) { config.admin = InletConfig.Admin(token: token) }
            } else {
                reader.report(.missingKey, "admin: missing 'token' (remove the admin block to disable the admin API)", at: node)
            }
        }
        if let node = top["sources"] {
            config.sources = makeSources(node, base: base, reader: &reader, flawed: &flaws.sources)
        }
        return config
    }

    private static func logLevel(_ text: String) throws(ConfigValueError) -> InletConfig.LogLevel {
        guard let level = InletConfig.LogLevel(rawValue: text) else {
            let names = InletConfig.LogLevel.allCases.map(\.rawValue)
            let hint = SpellingSuggestion.closest(to: text, in: names).map { "did you mean '\($0)'? " } ?? ""
            throw ConfigValueError("unknown level '\(text)'; \(hint)expected one of \(names.joined(separator: ", "))")
        }
        return level
    }

    /// One error at the position Yams reports; a syntax error leaves no tree to look further in.
    private static func syntaxError(_ error: any Error, file: String) -> ConfigError {
        func make(_ mark: (line: Int, column: Int)?, _ message: String) -> ConfigError {
            ConfigError(code: .syntax, file: file, line: mark?.line ?? 0, column: mark?.column ?? 0, message: message)
        }
        func detail(_ problem: String, _ context: YamlError.Context?, _ mark: Mark, _ yaml: String) -> String {
            if problem == "but found another document" {
                return "found a second document; a config file holds exactly one"
            }
            var text = problem
            if let context {
                text += " (\(context.text) started at \(context.mark.line):\(context.mark.column))"
            }
            // libyaml's wording names neither usual culprit: a tab, or an unquoted ${…} inside
            // { } or [ ], where the braces end the value.
            if character(at: mark, in: yaml) == "\t" {
                text += "; YAML indents with spaces, not tabs"
            } else if context?.text.hasPrefix("while parsing a flow") == true,
                line(context?.mark.line ?? 0, of: yaml).contains("${")
            {
                text += "; quote values that contain ${…} inside { } or [ ]"
            }
            return text
        }
        guard let yamlError = error as? YamlError else {
            return make(nil, "invalid YAML: \(error)")
        }
        switch yamlError {
        case let .scanner(context, problem, mark, yaml),
            let .parser(context, problem, mark, yaml),
            let .composer(context, problem, mark, yaml):
            return make((mark.line, mark.column), "invalid YAML: \(detail(problem, context, mark, yaml))")
        case let .reader(problem, offset, _, yaml):
            return make(offset.map { position(ofCharacterOffset: $0, in: yaml) }, "invalid YAML: \(problem)")
        case let .duplicatedKeysInMapping(duplicates, context):
            let first = (line: context.mark.line, column: context.mark.column)
            // Yams marks the first occurrence; the one to delete is usually the later one.
            if duplicates.count == 1, let second = laterOccurrence(of: duplicates[0], after: first, in: context.text) {
                return make(second, "invalid YAML: duplicate key '\(duplicates[0])' (first at \(first.line):\(first.column))")
            }
            let keys = duplicates.map { "'\($0)'" }.joined(separator: ", ")
            return make(first, "invalid YAML: key \(keys) appears more than once in the same mapping")
        default:
            return make(nil, "invalid YAML: \(yamlError)")
        }
    }

    /// Where `key` appears again in the block mapping whose key at `first` it duplicates: the
    /// next line indented to the same column that starts with `key:`, before any line indented
    /// less (the end of that mapping). Nil for flow mappings and quoted keys.
    private static func laterOccurrence(
        of key: String,
        after first: (line: Int, column: Int),
        in yaml: String
    ) -> (line: Int, column: Int)? {
        let lines = yaml.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false)
        guard first.line >= 1, first.line < lines.count else { return nil }
        for number in (first.line + 1)...lines.count {
            let scalars = Array(lines[number - 1])
            guard let indent = scalars.firstIndex(where: { $0 != " " }), scalars[indent] != "#", scalars[indent] != "\r" else {
                continue  // Blank and comment lines don't end a mapping.
            }
            if indent + 1 < first.column { return nil }
            if indent + 1 == first.column {
                let rest = String(String.UnicodeScalarView(scalars[indent...]))
                if rest.hasPrefix(key + ":") || rest.hasPrefix(key + " :") {
                    return (number, first.column)
                }
            }
        }
        return nil
    }

    /// The character at a libyaml position (columns count Unicode scalars).
    private static func character(at mark: Mark, in text: String) -> Unicode.Scalar? {
        let scalars = Array(line(mark.line, of: text).unicodeScalars)
        guard mark.column >= 1, mark.column <= scalars.count else { return nil }
        return scalars[mark.column - 1]
    }

    /// The 1-based line `number` of `text`, or "" when out of range.
    private static func line(_ number: Int, of text: String) -> String {
        // Scalars, not Characters: "\r\n" is one Character and would hide the line break.
        let lines = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false)
        guard number >= 1, number <= lines.count else { return "" }
        return String(String.UnicodeScalarView(lines[number - 1]))
    }

    private static func position(ofCharacterOffset offset: Int, in text: String) -> (line: Int, column: Int) {
        var line = 1
        var column = 1
        for character in text.prefix(offset) {
            if character == "\n" || character == "\r\n" {
                line += 1
                column = 1
            } else {
                column += character.unicodeScalars.count
            }
        }
        return (line, column)
    }
}
