import InletCore

/// Shared helpers for the Config tests.
enum ConfigTestSupport {
    /// The problems loading `yaml` reports, or an empty list when it loads.
    static func errors(
        _ yaml: String,
        file: String = "/etc/inlet/inlet.yaml",
        environment: [String: String] = [:]
    ) -> [ConfigError] {
        do {
            _ = try ConfigLoader.load(yaml: yaml, file: file, environment: environment)
            return []
        } catch {
            return error.errors
        }
    }

    /// Each problem as `LINE:COLUMN: message`, the file left out for brevity.
    static func positionedMessages(
        _ yaml: String,
        environment: [String: String] = [:]
    ) -> [String] {
        errors(yaml, environment: environment).map { "\($0.line):\($0.column): \($0.message)" }
    }
}
