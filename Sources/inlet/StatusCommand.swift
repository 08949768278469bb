import ArgumentParser
import Foundation
import InletCore

/// `inlet status`: every source as the daemon sees it, and how full the queue is.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show each source's state, last and next sync, circuit breaker, queue and quarantine.",
        discussion: """
            Sources the database knows that the config no longer names are listed last, marked \
            "(not in config)", without a next run. A source the daemon cannot run (its plugin did not \
            load, or refuses its config block) shows as disabled by the daemon, with the reason and \
            no next run. Works \
            beside a running daemon; exits 0 even when there is no database yet.
            """
    )

    @OptionGroup var options: ConfigOptions

    @Flag(help: "Print one JSON object: {\"database\": {...}, \"daemon\": {...}, \"sources\": [...], \"queue\": {...}}.")
    var json = false

    func run() async throws {
        let config = try options.load()
        let opened = try OperatorDatabase.openIfPresent(config)
        let report = try exitingOnFailure { try StatusReport.build(config: config, opened: opened) }
        if json {
            JSONOutput.print(report.object)
        } else {
            print(report.text(now: Date()))
        }
    }
}
