import Foundation
import Logging
import Testing

@testable import InletCore

/// `config/github.example.yaml` is valid for the connector as shipped: it loads (secrets from
/// the environment), every github source passes the plugin's schema, and the token source is
/// accepted by the connector itself.
@Suite("GitHub config example")
struct GitHubConfigExampleTests {
    static var example: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("config/github.example.yaml").path
    }

    @Test func theExampleLoadsAndPassesTheConnectorsSchema() async throws {
        let text = try String(contentsOfFile: Self.example, encoding: .utf8)
        #expect(!text.contains("ghp_") && !text.contains("BEGIN RSA"), "no secret in clear")
        let config = try ConfigLoader.load(path: Self.example, environment: ["GITHUB_TOKEN": "ghp_example", "GITHUB_WEBHOOK_SECRET": "s3cret"])
        let sources = config.sources.filter { $0.connector == "github" }
        #expect(sources.map(\.name) == ["acme", "octocat"])

        let plugin = try PluginLibrary.load(path: GitHubHarness.plugin)
        let schema = try #require(plugin.configSchema)
        let validator = try ConfigSchemaValidator(schemaJSON: schema)
        for source in sources {
            #expect(validator.validate(source).isEmpty, "\(source.name): \(validator.validate(source))")
        }

        let acme = try #require(sources.first)
        let folder = try ScratchFolder()
        let instance = try await ConnectorInstance.create(
            plugin: plugin, source: acme.name, configJSON: acme.config.jsonString(), dataDirectory: folder.file("data"),
            configDirectory: folder.path, logger: Logger(label: "test"))
        await instance.destroy()
    }

    @Test func theSchemaRefusesAMisspeltSetting() throws {
        let plugin = try PluginLibrary.load(path: GitHubHarness.plugin)
        let yaml = """
            sources:
              - name: acme
                connector: github
                config: { owner: acme, token: x, exclude_repo: ["a"] }
            """
        let config = try ConfigLoader.load(yaml: yaml, file: "/tmp/inlet.yaml", environment: [:])
        let errors = try ConfigSchemaValidator(schemaJSON: try #require(plugin.configSchema)).validate(config.sources[0])
        #expect(errors.count == 1)
        #expect(errors.first.map { "\($0)" }?.contains("exclude_repo") == true)
    }
}
