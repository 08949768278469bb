import InletCore
import Testing

@Suite("Config durations and sizes")
struct ConfigFormatTests {
    @Test(arguments: [
        ("500ms", Duration.milliseconds(500)),
        ("2s", .seconds(2)),
        ("10m", .seconds(600)),
        ("1h", .seconds(3_600)),
        ("7d", .seconds(604_800)),
        ("1h30m", .seconds(5_400)),
        ("1d2h3m4s5ms", .milliseconds(93_784_005)),
        ("0s", .zero),
        ("90s", .seconds(90)),
    ])
    func parsesDurations(text: String, expected: Duration) throws {
        #expect(try DurationFormat.parse(text) == expected)
    }

    @Test(arguments: [
        ("", "empty duration; expected e.g. 500ms, 30s, 5m, 1h30m or 7d"),
        ("10", "invalid duration '10': '10' has no unit (use ms, s, m, h or d, e.g. 10s)"),
        ("5x", "invalid duration '5x': unknown unit 'x' (use ms, s, m, h or d)"),
        ("5S", "invalid duration '5S': unknown unit 'S' (use ms, s, m, h or d)"),
        ("-5s", "invalid duration '-5s': must not be negative"),
        ("1.5h", "invalid duration '1.5h': use whole numbers, e.g. 1h30m rather than 1.5h"),
        ("h", "invalid duration 'h': expected a number before 'h'"),
        ("1h 30m", "invalid duration '1h 30m': remove the spaces (e.g. 1h30m)"),
        ("99999999999999999999d", "invalid duration '99999999999999999999d': too large"),
        ("200000000000000d", "invalid duration '200000000000000d': too large"),
    ])
    func refusesBadDurations(text: String, message: String) {
        #expect(throws: ConfigValueError(message)) { try DurationFormat.parse(text) }
    }

    @Test func formatsDurations() {
        #expect(DurationFormat.string(from: .seconds(5_400)) == "1h30m")
        #expect(DurationFormat.string(from: .milliseconds(500)) == "500ms")
        #expect(DurationFormat.string(from: .zero) == "0s")
        #expect(DurationFormat.string(from: .milliseconds(90_061_001)) == "1d1h1m1s1ms")
        #expect(DurationFormat.string(from: .seconds(-90)) == "-1m30s")
    }

    @Test(arguments: [
        ("512KB", 524_288),
        ("25MB", 26_214_400),
        ("1GB", 1_073_741_824),
        ("2TB", 2_199_023_255_552),
        ("100", 100),
        ("10B", 10),
        ("2 MiB", 2_097_152),
        ("1kb", 1_024),
        ("0", 0),
    ])
    func parsesSizes(text: String, expected: Int) throws {
        #expect(try ByteSizeFormat.parse(text) == expected)
    }

    @Test(arguments: [
        ("", "empty size; expected e.g. 512KB, 25MB, 1GB or a number of bytes"),
        ("-1", "invalid size '-1': must not be negative"),
        ("1.5MB", "invalid size '1.5MB': use whole numbers, e.g. 1536KB rather than 1.5MB"),
        ("12XB", "invalid size '12XB': unknown unit 'XB' (use B, KB, MB, GB or TB; 1 KB = 1024 bytes)"),
        ("MB", "invalid size 'MB': expected a number, e.g. 25MB"),
        ("9999999999TB", "invalid size '9999999999TB': too large"),
        ("99999999999999999999", "invalid size '99999999999999999999': too large"),
    ])
    func refusesBadSizes(text: String, message: String) {
        #expect(throws: ConfigValueError(message)) { try ByteSizeFormat.parse(text) }
    }

    @Test func durationErrorsInTheFileArePositioned() {
        let yaml = """
            shutdown_grace: 1.5m
            queue: { retention: 0s }
            """
        #expect(ConfigTestSupport.positionedMessages(yaml) == [
            "1:17: shutdown_grace: invalid duration '1.5m': use whole numbers, e.g. 1h30m rather than 1.5h",
            "2:21: queue.retention: must be greater than zero",
        ])
    }

    @Test func shutdownGraceMayBeZero() throws {
        let config = try ConfigLoader.load(yaml: "shutdown_grace: 0s\n", file: "/i.yaml", environment: [:])
        #expect(config.shutdownGrace == .zero)
    }
}
