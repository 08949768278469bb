import Foundation
import Testing

/// The recorded GitHub material in this target's Fixtures folder (see its README for origins).
enum Fixtures {
    static var folder: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path
    }

    static func data(_ relative: String) throws -> Data {
        try Data(contentsOf: URL(fileURLWithPath: folder + "/" + relative))
    }

    static func object(_ relative: String) throws -> Any {
        try JSONSerialization.jsonObject(with: data(relative))
    }

    /// A webhook payload, compact as GitHub sends it.
    static func webhook(_ relative: String, edit: (inout [String: Any]) -> Void = { _ in }) throws -> [UInt8] {
        var object = try #require(try object("webhooks/" + relative) as? [String: Any])
        edit(&object)
        return Array(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
    }

    /// A repository as GitHub answers it (octokit's get-repository recording).
    static var repositoryTemplate: [String: Any] {
        let exchanges = (try? object("api/get-repository.json")) as? [[String: Any]] ?? []
        return exchanges.first?["response"] as? [String: Any] ?? [:]
    }

    /// An issue as a listing answers it (octokit's paginate-issues recording).
    static var issueTemplate: [String: Any] {
        let exchanges = (try? object("api/paginate-issues.json")) as? [[String: Any]] ?? []
        return (exchanges.first?["response"] as? [[String: Any]])?.first ?? [:]
    }

    /// A pull request (GitHub's documented `pull_request` payload object).
    static var pullTemplate: [String: Any] {
        let payload = (try? object("webhooks/pull_request/opened.payload.json")) as? [String: Any] ?? [:]
        return payload["pull_request"] as? [String: Any] ?? [:]
    }

    /// A github3.py (Betamax) cassette's exchanges: URI, status, headers, decoded body.
    static func cassette(_ name: String) throws -> [(uri: String, status: Int, headers: [String: String], body: [UInt8])] {
        let root = try #require(try object("api/" + name) as? [String: Any])
        let interactions = try #require(root["http_interactions"] as? [[String: Any]])
        return try interactions.map { interaction in
            let request = try #require(interaction["request"] as? [String: Any])
            let response = try #require(interaction["response"] as? [String: Any])
            let status = try #require((response["status"] as? [String: Any])?["code"] as? Int)
            var headers: [String: String] = [:]
            for (name, value) in response["headers"] as? [String: Any] ?? [:] {
                headers[name.lowercased()] = (value as? [String])?.joined(separator: ", ") ?? (value as? String) ?? ""
            }
            let body = response["body"] as? [String: Any] ?? [:]
            var bytes: [UInt8] = []
            if let base64 = body["base64_string"] as? String, !base64.isEmpty, let data = Data(base64Encoded: base64) {
                bytes = try Gzip.inflate(Array(data))
            } else if let text = body["string"] as? String {
                bytes = Array(text.utf8)
            }
            return (try #require(request["uri"] as? String), status, headers, bytes)
        }
    }
}

/// gunzip with the system's `gzip`, for recorded bodies (tests only).
enum Gzip {
    static func inflate(_ bytes: [UInt8]) throws -> [UInt8] {
        guard bytes.starts(with: [0x1F, 0x8B]) else { return bytes }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/gzip")
        process.arguments = ["-dc"]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        let writer = Thread {
            input.fileHandleForWriting.write(Data(bytes))
            try? input.fileHandleForWriting.close()
        }
        writer.start()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Array(data)
    }
}
