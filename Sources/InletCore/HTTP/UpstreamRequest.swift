import Foundation

/// One HTTP request a connector makes through the host (`host->http`), as the service sees it.
package struct UpstreamRequest: Sendable {
    package var method: String
    /// An absolute http:// or https:// URL.
    package var url: String
    /// Header fields in order. Values are never logged nor put in error messages.
    package var headers: [(name: String, value: String)]
    package var body: [UInt8]?
    /// The whole exchange; nil for the service's default.
    package var timeout: Duration?
    /// False (`INLET_HTTP_NO_CACHE`): neither send cached validators nor store the answer.
    package var cacheable: Bool

    package init(
        method: String = "GET", url: String, headers: [(name: String, value: String)] = [], body: [UInt8]? = nil,
        timeout: Duration? = nil, cacheable: Bool = true
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
        self.cacheable = cacheable
    }

    /// The value of a header (names compare case-insensitively); repeated fields joined with ", ".
    package func header(_ name: String) -> String? {
        let values = headers.filter { $0.name.caseInsensitiveCompare(name) == .orderedSame }.map(\.value)
        return values.isEmpty ? nil : values.joined(separator: ", ")
    }

    /// The parts of a checked request the service needs.
    package struct Target: Sendable, Hashable {
        /// `host` or `host:port`, lowercase: the `host` label of the metrics.
        package var host: String
        /// The path without query or fragment: what logs and messages show.
        package var path: String
        /// `host` + the first path segment (`api.github.com/repos`): the unit the rate-limit
        /// ledger learns a budget's resource for.
        package var route: String

        /// How logs and messages name the request's target: never the query (it may hold a token).
        package var display: String { host + path }
    }

    /// Checks the method, the URL and the headers.
    /// - Throws: ``HTTPServiceError`` `.invalidRequest` naming the source and the faulty field
    ///   (a header by its name, never its value).
    package func validated(source: String) throws(HTTPServiceError) -> Target {
        func invalid(_ message: String) -> HTTPServiceError {
            HTTPServiceError(.invalidRequest, "source '\(source)': http: \(message)")
        }
        guard !method.isEmpty, method.count <= 32, method.utf8.allSatisfy({ (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) }) else {
            throw invalid("method '\(method.prefix(40))' is not an HTTP method (uppercase letters, like GET)")
        }
        guard method != "CONNECT" else { throw invalid("method CONNECT is not allowed") }
        guard !url.isEmpty else { throw invalid("url is empty") }
        guard !url.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F }) else {
            throw invalid("url contains a space or a control character")
        }
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased() else {
            throw invalid("url '\(Self.withoutQuery(url))' is not an absolute URL")
        }
        guard scheme == "http" || scheme == "https" else {
            throw invalid("url scheme '\(scheme)' is not allowed (http and https only)")
        }
        guard let host = components.host, !host.isEmpty else {
            throw invalid("url '\(Self.withoutQuery(url))' has no host")
        }
        guard components.user == nil, components.password == nil else {
            throw invalid("url carries credentials: send them in an Authorization header instead")
        }
        for (index, field) in headers.enumerated() {
            guard !field.name.isEmpty, field.name.utf8.allSatisfy(Self.isTokenCharacter) else {
                throw invalid("header \(index + 1): name '\(field.name.prefix(40))' is not a valid header name")
            }
            guard !field.value.utf8.contains(where: { $0 == 0 || $0 == 0x0A || $0 == 0x0D }) else {
                throw invalid("header '\(field.name)': value contains a line break or NUL")
            }
            let lower = field.name.lowercased()
            guard lower != "content-length" && lower != "transfer-encoding" && lower != "host" else {
                throw invalid("header '\(field.name)' is set by the host, not by a connector")
            }
        }
        let portSuffix = components.port.map { ":\($0)" } ?? ""
        let hostName = host.lowercased() + portSuffix
        let path = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
        let firstSegment = path.split(separator: "/", omittingEmptySubsequences: true).first.map(String.init) ?? ""
        return Target(host: hostName, path: path, route: hostName + "/" + firstSegment)
    }

    /// A URL for messages: without query and fragment.
    static func withoutQuery(_ url: String) -> String {
        String(url.prefix { $0 != "?" && $0 != "#" })
    }

    /// RFC 9110 `tchar`.
    private static func isTokenCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
        }
    }
}

/// An answer the host hands back to a connector.
package struct UpstreamResponse: Sendable {
    /// The HTTP status of the final answer (after redirects).
    package var status: Int
    /// Header fields of the final answer, names in lowercase, in the order received.
    package var headers: [(name: String, value: String)]
    /// The body, content-encoding undone.
    package var body: [UInt8]
    /// The server answered 304 to the host's conditional request: this is the cached answer.
    package var notModified: Bool

    package init(status: Int, headers: [(name: String, value: String)], body: [UInt8], notModified: Bool = false) {
        self.status = status
        self.headers = headers
        self.body = body
        self.notModified = notModified
    }

    /// The value of a header (lowercase name); repeated fields joined with ", ".
    package func header(_ name: String) -> String? {
        let values = headers.filter { $0.name == name }.map(\.value)
        return values.isEmpty ? nil : values.joined(separator: ", ")
    }
}

/// Header fields as the ABI carries them: `name: value` lines separated by "\n".
enum HeaderText {
    /// "name: value\n" per field.
    static func format(_ fields: [(name: String, value: String)]) -> String {
        var text = ""
        for field in fields { text += "\(field.name): \(field.value)\n" }
        return text
    }

    /// Splits "Name: value" lines ("\n" or "\r\n"); empty lines are skipped.
    /// - Returns: the fields, or the 1-based number of the first line without a colon.
    static func parse(_ text: String) -> Result<[(name: String, value: String)], LineError> {
        var fields: [(name: String, value: String)] = []
        // By scalars: "\r\n" is one Character, which a split on "\n" would not see.
        for (index, scalars) in text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = String(String.UnicodeScalarView(scalars))
            if line.unicodeScalars.last == "\r" { line.unicodeScalars.removeLast() }
            if line.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
            guard let colon = line.firstIndex(of: ":") else { return .failure(LineError(line: index + 1)) }
            let name = String(line[..<colon])
            let value = line[line.index(after: colon)...].trimmingCharacters(in: CharacterSet(charactersIn: " \t"))
            fields.append((name, value))
        }
        return .success(fields)
    }

    struct LineError: Error { var line: Int }
}
