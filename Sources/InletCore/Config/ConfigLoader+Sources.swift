import Yams

extension ConfigLoader {
    static let sourceKeys = [
        "name", "connector", "plugin", "enabled", "schedule", "timeout", "concurrency",
        "retry", "circuit_breaker", "webhook", "config",
    ]

    /// Reads `sources:`. Every entry is checked in full, even one whose name is unusable, so
    /// that one run reports all of its problems.
    /// - Parameter flawed: receives the names of the sources returned that had errors of their own.
    static func makeSources(_ node: Node, base: String, reader: inout ConfigNodeReader, flawed: inout Set<String>) -> [SourceConfig] {
        guard let items = reader.sequence(node, label: "sources") else { return [] }
        var sources: [SourceConfig] = []
        var firstDefinitions: [String: ConfigLocation] = [:]
        for (index, item) in items.enumerated() {
            let errorsBefore = reader.errors.count
            guard let source = makeSource(item, index: index, base: base, reader: &reader) else { continue }
            if reader.errors.count > errorsBefore { flawed.insert(source.name) }
            let nameNode = item.mapping?["name"] ?? item
            if let first = firstDefinitions[source.name] {
                reader.report(
                    .duplicateName,
                    "duplicate source name '\(source.name)' (first defined at \(first.line):\(first.column))",
                    at: nameNode
                )
                continue
            }
            firstDefinitions[source.name] = reader.location(of: nameNode)
            sources.append(source)
        }
        return sources
    }

    /// One source, or nil when its name or connector is missing or invalid (reported). Other
    /// problems are reported and leave the default in place.
    private static func makeSource(_ node: Node, index: Int, base: String, reader: inout ConfigNodeReader) -> SourceConfig? {
        // Name the source in messages as soon as possible, even before its keys are checked.
        let writtenName = node.mapping?["name"]?.scalar?.string
        let label = writtenName.map { "source '\($0)'" } ?? "source #\(index + 1)"
        guard let entry = reader.mapping(node, label: label, allowedKeys: sourceKeys) else { return nil }

        var name: String?
        if let node = entry["name"] {
            name = reader.value(node, label: "\(label): name", expected: "a source name", sourceName)
        } else {
            reader.report(.missingKey, "\(label): missing required key 'name'", at: node)
        }
        var connector: String?
        if let node = entry["connector"] {
            connector = reader.string(node, label: "\(label): connector")
        } else {
            reader.report(.missingKey, "\(label): missing required key 'connector'", at: node)
        }

        // Placeholders let the remaining keys be checked; the source itself is dropped below.
        var source = SourceConfig(
            name: name ?? writtenName ?? "",
            connector: connector ?? "",
            config: ConfigValue(.object([]), line: node.mark?.line ?? 0, column: node.mark?.column ?? 0),
            location: reader.location(of: node),
            connectorLocation: entry["connector"].map { reader.location(of: $0) }
        )
        for key in sourceKeys { if let node = entry[key] { source.keyLocations[key] = reader.location(of: node) } }
        if let node = entry["plugin"] {
            source.pluginPath = reader.path(node, label: "\(label): plugin", relativeTo: base)
        }
        if let node = entry["enabled"], let enabled = reader.boolean(node, label: "\(label): enabled") {
            source.isEnabled = enabled
        }
        if let node = entry["schedule"] {
            source.schedule = reader.value(node, label: "\(label): schedule", expected: "a schedule", SourceSchedule.init)
        }
        if let node = entry["timeout"], let timeout = reader.duration(node, label: "\(label): timeout") {
            source.timeout = timeout
        }
        if let node = entry["concurrency"], let concurrency = reader.integer(node, label: "\(label): concurrency", minimum: 1) {
            source.concurrency = concurrency
        }
        if let node = entry["retry"] {
            source.retry = makeRetry(node, label: label, reader: &reader)
        }
        if let node = entry["circuit_breaker"] {
            source.circuitBreaker = makeCircuitBreaker(node, label: label, reader: &reader)
        }
        if let node = entry["webhook"] {
            source.webhook = makeWebhook(node, label: label, reader: &reader)
        }
        if let node = entry["config"] {
            if case .mapping(let mapping) = node {
                source.config = reader.configValue(node, label: "\(label): config") ?? source.config
                // The host's own key: a user's would reach the plugin beside (or instead of) the host's.
                if let key = mapping.keys.first(where: { $0.scalar?.string == ConnectorInstance.hostKey }) {
                    reader.report(.invalidValue, "\(label): config: '\(ConnectorInstance.hostKey)' is reserved: the host adds it (source, data_dir, config_dir)", at: key)
                }
            } else {
                reader.report(.invalidValue, "\(label): config: expected a mapping of connector settings", at: node)
            }
        }
        return name == nil || connector == nil ? nil : source
    }

    private static func sourceName(_ text: String) throws(ConfigValueError) -> String {
        func isLowercaseOrDigit(_ scalar: Unicode.Scalar) -> Bool {
            ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar)
        }
        let scalars = text.unicodeScalars
        guard let first = scalars.first, isLowercaseOrDigit(first),
            scalars.allSatisfy({ isLowercaseOrDigit($0) || $0 == "_" || $0 == "-" })
        else {
            throw ConfigValueError(
                "invalid source name '\(text)': use lowercase letters, digits, '_' and '-', starting with a letter or digit"
            )
        }
        return text
    }

    private static func makeRetry(_ node: Node, label: String, reader: inout ConfigNodeReader) -> SourceConfig.Retry {
        var retry = SourceConfig.Retry()
        let label = "\(label): retry"
        guard let entry = reader.mapping(node, label: label, allowedKeys: ["max_attempts", "backoff", "max_backoff"]) else {
            return retry
        }
        var backoffIsValid = true
        var maxBackoffIsValid = true
        if let node = entry["max_attempts"], let attempts = reader.integer(node, label: "\(label).max_attempts", minimum: 1) {
            retry.maxAttempts = attempts
        }
        if let node = entry["backoff"] {
            if let backoff = reader.duration(node, label: "\(label).backoff") { retry.backoff = backoff } else { backoffIsValid = false }
        }
        if let node = entry["max_backoff"] {
            if let maxBackoff = reader.duration(node, label: "\(label).max_backoff") {
                retry.maxBackoff = maxBackoff
            } else {
                maxBackoffIsValid = false
            }
        }
        // Point at whichever of the two the user wrote; with both written, at the cap.
        if backoffIsValid, maxBackoffIsValid, retry.maxBackoff < retry.backoff,
            let culprit = entry["max_backoff"] ?? entry["backoff"]
        {
            let backoff = DurationFormat.string(from: retry.backoff)
            let maxBackoff = DurationFormat.string(from: retry.maxBackoff)
            reader.report(
                .invalidValue,
                "\(label): max_backoff (\(maxBackoff)) must not be less than backoff (\(backoff))",
                at: culprit
            )
        }
        return retry
    }

    private static func makeCircuitBreaker(_ node: Node, label: String, reader: inout ConfigNodeReader) -> SourceConfig.CircuitBreaker {
        var breaker = SourceConfig.CircuitBreaker()
        let label = "\(label): circuit_breaker"
        guard let entry = reader.mapping(node, label: label, allowedKeys: ["failure_threshold", "open_for"]) else {
            return breaker
        }
        if let node = entry["failure_threshold"],
            let threshold = reader.integer(node, label: "\(label).failure_threshold", minimum: 1)
        {
            breaker.failureThreshold = threshold
        }
        if let node = entry["open_for"], let openFor = reader.duration(node, label: "\(label).open_for") {
            breaker.openFor = openFor
        }
        return breaker
    }

    private static func makeWebhook(_ node: Node, label: String, reader: inout ConfigNodeReader) -> SourceConfig.Webhook? {
        let label = "\(label): webhook"
        guard let entry = reader.mapping(node, label: label, allowedKeys: ["secret", "secrets"]) else { return nil }
        switch (entry["secret"], entry["secrets"]) {
        case (let secret?, nil):
            return reader.secret(secret, label: "\(label).secret", trimmed: false).map { SourceConfig.Webhook(secrets: [$0]) }
        case (nil, let secrets?):
            guard let items = reader.sequence(secrets, label: "\(label).secrets") else { return nil }
            guard !items.isEmpty else {
                reader.report(.invalidValue, "\(label).secrets: list at least one secret", at: secrets)
                return nil
            }
            let values = items.enumerated().compactMap { index, item in
                reader.secret(item, label: "\(label).secrets[\(index)]", trimmed: false)
            }
            return values.count == items.count ? SourceConfig.Webhook(secrets: values) : nil
        case (_?, _?):
            reader.report(.invalidValue, "\(label): use either 'secret' or 'secrets', not both", at: entry.keyNode("secrets") ?? node)
            return nil
        case (nil, nil):
            reader.report(.missingKey, "\(label): missing 'secret' (or 'secrets' to accept several)", at: node)
            return nil
        }
    }
}
