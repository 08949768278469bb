import Foundation

/// What every benchmark shares: medians of repeated runs, shell baselines, and one report line
/// per figure with its ratio to the baseline measured in the same run.
enum Bench {
    static let repetitions = 3

    /// The median duration of `repetitions` runs of `body`.
    static func median(_ body: () throws -> Void) throws -> Duration {
        var samples: [Duration] = []
        for _ in 0..<repetitions { samples.append(try ContinuousClock().measure(body)) }
        return samples.sorted()[repetitions / 2]
    }

    /// The median of durations already measured.
    static func median(_ samples: [Duration]) -> Duration { samples.sorted()[samples.count / 2] }

    static func timed(_ body: () async throws -> Void) async throws -> Duration {
        let start = ContinuousClock.now
        try await body()
        return ContinuousClock.now - start
    }

    /// Runs a shell command; returns its standard output.
    /// - Throws: ``BenchError`` when it exits non-zero.
    @discardableResult
    static func shell(_ command: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw BenchError("failed: \(command)") }
        return String(decoding: data, as: UTF8.self)
    }

    /// `  name   123.4 ms    2.50x of <baseline>`.
    static func report(_ name: String, _ value: Duration, against baseline: Duration, of baselineName: String = "baseline") {
        let padded = name.padding(toLength: 36, withPad: " ", startingAt: 0)
        print("  \(padded) \(String(format: "%8.1f ms", value.seconds * 1000))   \(String(format: "%6.2fx", value.seconds / baseline.seconds)) of \(baselineName)")
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
