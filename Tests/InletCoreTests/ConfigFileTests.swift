import Foundation
import InletCore
import Testing

/// Loads real files from a per-test temporary folder.
@Suite("Config files")
struct ConfigFileTests {
    /// A fresh folder under the system temporary directory, removed by `body`'s end.
    static func withTemporaryFolder(_ body: (String) throws -> Void) throws {
        let folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("inlet-config-tests-\(UUID().uuidString)").standardizedFileURL.path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try body(folder)
    }

    @Test func resolvesRelativePathsAgainstTheConfigFilesFolder() throws {
        try Self.withTemporaryFolder { folder in
            try FileManager.default.createDirectory(atPath: folder + "/conf", withIntermediateDirectories: true)
            let file = folder + "/conf/inlet.yaml"
            try """
                data_dir: ./var
                plugins: [../plugins, /opt/inlet/plugins, .build/./plugins/]
                sources:
                  - name: self
                    connector: git
                    plugin: ./lib/libgit.so
                    config: { url: "${REPO:-.}" }
                """.write(toFile: file, atomically: true, encoding: .utf8)

            let config = try ConfigLoader.load(path: file, environment: [:])
            #expect(config.file == file)
            #expect(config.dataDirectory == folder + "/conf/var")
            #expect(config.pluginDirectories == [folder + "/plugins", "/opt/inlet/plugins", folder + "/conf/.build/plugins"])
            #expect(config.sources.first?.pluginPath == folder + "/conf/lib/libgit.so")
            // Free-form config values are handed over as written: the plugin decides what they mean.
            #expect(config.sources.first?.config.jsonString() == #"{"url":"."}"#)
            #expect(config.sources.first?.location == ConfigLocation(file: file, line: 4, column: 5))
        }
    }

    @Test func relativeConfigFileIsTakenFromTheCurrentDirectory() throws {
        let config = try ConfigLoader.load(yaml: "data_dir: data\n", file: "deploy/inlet.yaml", environment: [:])
        let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).standardizedFileURL.path
        #expect(config.dataDirectory == cwd + "/deploy/data")
        #expect(config.file == "deploy/inlet.yaml")
    }

    @Test func homeFolderAndAbsolutePaths() throws {
        let home = FileManager.default.homeDirectoryForCurrentUser.standardizedFileURL.path
        let config = try ConfigLoader.load(yaml: "data_dir: ~/inlet\nplugins: [/a/../b]\n", file: "/x/i.yaml", environment: [:])
        #expect(config.dataDirectory == home + "/inlet")
        #expect(config.pluginDirectories == ["/b"])
    }

    @Test func errorsNameTheFileAsGiven() throws {
        try Self.withTemporaryFolder { folder in
            let file = folder + "/inlet.yaml"
            try "workers: -1\nsources:\n  - nme: x\n".write(toFile: file, atomically: true, encoding: .utf8)
            #expect {
                try ConfigLoader.load(path: file, environment: [:])
            } throws: { error in
                (error as? ConfigErrors)?.description == """
                    \(file):1:10: workers: must be at least 1, got -1
                    \(file):3:5: source #1: unknown key 'nme'; did you mean 'name'?
                    \(file):3:5: source #1: missing required key 'name'
                    \(file):3:5: source #1: missing required key 'connector'
                    """
            }
        }
    }

    @Test func unreadableFiles() throws {
        try Self.withTemporaryFolder { folder in
            let missing = folder + "/missing.yaml"
            #expect(throws: ConfigErrors([
                ConfigError(code: .unreadableFile, file: missing, line: 0, column: 0, message: "cannot read config file: no such file")
            ])) {
                try ConfigLoader.load(path: missing, environment: [:])
            }
            let binary = folder + "/binary.yaml"
            try Data([0x77, 0x3A, 0x20, 0xFF, 0xFE, 0x0A]).write(to: URL(fileURLWithPath: binary))
            #expect {
                try ConfigLoader.load(path: binary, environment: [:])
            } throws: { error in
                (error as? ConfigErrors)?.description == "\(binary): config file is not valid UTF-8"
            }
        }
    }
}
