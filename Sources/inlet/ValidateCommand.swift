import ArgumentParser
import InletCore

/// `inlet validate`: checks a config and the plugins its sources name, listing every error.
struct ValidateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check the config and load the plugins its sources name; list every error.",
        discussion: "Exits 0 when the config is valid, 2 when it is not. Nothing is written."
    )

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        let checked = ConfigLoader.check(path: options.configPath)
        if !checked.errors.isEmpty {
            // The sources without errors of their own are still checked, so one run lists all.
            for error in checked.errors { printError("error: \(error)") }
            let problems = checked.checkable.map { ConfiguredSources(config: $0).problems } ?? []
            for problem in problems { printError("error: \(problem)") }
            let count = checked.errors.count + problems.count
            printError("\(options.configPath): \(count) error\(count == 1 ? "" : "s")")
            throw ExitCode(2)
        }
        let config = try options.load()
        let sources = ConfiguredSources(config: config)
        for failure in sources.catalog.failures {
            printError("warning: \(failure)")
        }
        for warning in sources.warnings { printError("warning: \(warning)") }
        for problem in sources.problems {
            printError("error: \(problem)")
        }
        if !sources.problems.isEmpty {
            printError("\(config.file): \(sources.problems.count) error\(sources.problems.count == 1 ? "" : "s")")
            throw ExitCode(2)
        }
        print("\(config.file): OK, \(config.sources.count) source\(config.sources.count == 1 ? "" : "s")")
        for source in config.sources {
            let plugin = sources.plugins[source.name]!
            let state = source.isEnabled ? "" : " (disabled)"
            let schedule = source.schedule.map { ", schedule \($0)" } ?? ""
            print("  \(source.name): connector \(source.connector) \(plugin.version) from \(plugin.path)\(schedule)\(state)")
        }
    }
}
