import CInletHost
import Foundation
import Logging
import Synchronization

/// The crash file, `data_dir/crashed-calls`: a process that dies of a plugin call (a signal on
/// the thread running it) appends `job ID signal N` there first, so the next start charges
/// the attempt to that job alone (see `inlet_host_crash.h` and `JobQueue.rescue`).
package enum CrashRecord {
    static func path(dataDirectory: String) -> String {
        (dataDirectory as NSString).appendingPathComponent("crashed-calls")
    }

    /// Has this process write its crash lines to data_dir's file (once per process; the file
    /// stays open for the signal handler).
    package static func arm(dataDirectory: String) throws {
        let file = path(dataDirectory: dataDirectory)
        let descriptor = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw CrashRecordError("cannot open \(file): \(String(cString: strerror(errno)))") }
        inlet_crash_install(descriptor)
    }

    // MARK: - Calls that had started

    /// Threads whose latest started call the calls file can hold (32 KB).
    static let callSlots: Int64 = 4095

    static func callsPath(dataDirectory: String) -> String {
        (dataDirectory as NSString).appendingPathComponent("started-calls")
    }

    /// What the calls file said when this process mapped it afresh (the previous holder's).
    private static let previousCalls = Mutex<(directory: String, jobs: Set<Int64>?)?>(nil)

    /// Has this process keep, in data_dir's calls file, the job of each plugin call it starts
    /// (see `inlet_calls_map`), after reading what the previous process left there. Call under
    /// data_dir's lock.
    package static func armCalls(dataDirectory: String) throws {
        let file = callsPath(dataDirectory: dataDirectory)
        let left = readCalls(file)
        let descriptor = open(file, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw CrashRecordError("cannot open \(file): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }  // the mapping stays
        let size = off_t((callSlots + 1) * 8)
        guard ftruncate(descriptor, 0) == 0, ftruncate(descriptor, size) == 0 else {
            throw CrashRecordError("cannot size \(file): \(String(cString: strerror(errno)))")
        }
        let result = inlet_calls_map(descriptor, callSlots)
        guard result == 0 else { throw CrashRecordError("cannot map \(file): \(String(cString: strerror(result)))") }
        previousCalls.withLock { $0 = (canonical(dataDirectory), left) }
    }

    /// The jobs whose plugin call (or create) had started in the process that held data_dir
    /// before this one, or nil when that is not known (no file: an older build, or calls on
    /// more threads than the file has words for).
    package static func startedCalls(dataDirectory: String) -> Set<Int64>? {
        // Once this process mapped the file, the file holds its own calls: the snapshot is the answer.
        if let previous = previousCalls.withLock({ $0 }), previous.directory == canonical(dataDirectory) { return previous.jobs }
        return readCalls(callsPath(dataDirectory: dataDirectory))
    }

    private static func canonical(_ directory: String) -> String {
        URL(fileURLWithPath: directory).standardizedFileURL.resolvingSymlinksInPath().path
    }

    static func readCalls(_ file: String) -> Set<Int64>? {
        guard let data = FileManager.default.contents(atPath: file), data.count == Int((callSlots + 1) * 8) else { return nil }
        let words = data.withUnsafeBytes { Array($0.bindMemory(to: Int64.self)) }
        guard words[0] == 0 else { return nil }
        return Set(words.dropFirst().filter { $0 > 0 })
    }

    /// What the crash file says: the jobs whose plugin call crashed a process, with the signal,
    /// and those whose instance's `create` did.
    package struct Crashes: Sendable, Equatable {
        package var signals: [Int64: Int32] = [:]
        /// Jobs whose source's `create` crashed: the source cannot run until its config is reloaded.
        package var inCreate: Set<Int64> = []
        package var isEmpty: Bool { signals.isEmpty }
    }

    /// The crashes on this data_dir since the last ``clear``. Call under data_dir's lock, before
    /// rescuing their jobs; clear once the rescue has committed (a rescue that fails leaves the
    /// record for the next start).
    package static func read(dataDirectory: String) -> Crashes {
        let file = path(dataDirectory: dataDirectory)
        guard let text = try? String(contentsOfFile: file, encoding: .utf8), !text.isEmpty else { return Crashes() }
        var crashes = Crashes()
        for line in text.split(separator: "\n") {
            let words = line.split(separator: " ")
            guard words.count == 4, words[0] == "job" || words[0] == "create", words[2] == "signal", let job = Int64(words[1]),
                let signal = Int32(words[3])
            else { continue }
            crashes.signals[job] = signal
            if words[0] == "create" { crashes.inCreate.insert(job) }
        }
        return crashes
    }

    /// Empties the crash file (its jobs were rescued).
    package static func clear(dataDirectory: String) {
        _ = truncate(path(dataDirectory: dataDirectory), 0)
    }

    struct CrashRecordError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }
}

extension JobQueue {
    /// At the start of a daemon or a foreground sync, under data_dir's lock: gives back the jobs
    /// a stopped process left running, charging only the job the crash file names when there
    /// is one (see ``rescue(now:notOwnedBy:crashed:retry:)``), clears the file once that has
    /// committed, and says what it did.
    /// - Returns: the rescue, and the crashes it read (their `inCreate` jobs name sources whose
    ///   `create` crashed).
    package func rescueAtStart(
        owner: String, sources: [SourceConfig], now: Date, logger: Logger
    ) throws -> (report: RescueReport, crashes: CrashRecord.Crashes) {
        let dataDirectory = (database.path as NSString).deletingLastPathComponent
        let crashes = CrashRecord.read(dataDirectory: dataDirectory)
        let started = CrashRecord.startedCalls(dataDirectory: dataDirectory)
        let retry = Dictionary(sources.map { ($0.name, $0.retry) }, uniquingKeysWith: { first, _ in first })
        let report = try rescue(now: now, notOwnedBy: owner, crashed: crashes.signals, started: started, retry: retry)
        if !crashes.isEmpty { CrashRecord.clear(dataDirectory: dataDirectory) }
        for (job, signal) in crashes.signals.sorted(by: { $0.key < $1.key }) {
            logger.error(
                "job \(job)'s plugin call crashed the previous process (\(Self.signalName(signal))): its attempt counts; the \(report.spared.count) other job(s) it held go back uncounted")
        }
        if crashes.isEmpty && !report.spared.isEmpty {
            logger.notice("\(report.spared.count) job(s) the previous process had leased ahead, whose calls had not started, go back uncounted")
        }
        if !report.requeued.isEmpty || !report.quarantined.isEmpty {
            logger.notice("recovered jobs of a previous run: \(report.requeued.count) requeued, \(report.quarantined.count) quarantined (out of attempts)")
        }
        return (report, crashes)
    }
}
