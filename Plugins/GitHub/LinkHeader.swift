import Foundation

/// RFC 8288 `Link` headers as GitHub sends them: `<url>; rel="next", <url>; rel="last"`.
enum LinkHeader {
    /// The URL of the link with relation `rel`, or nil (GitHub leaves the header out when all
    /// fits in one page, and `next` out on the last page).
    static func url(in header: String, rel: String) -> String? {
        var rest = Substring(header)
        while let open = rest.firstIndex(of: "<") {
            guard let close = rest[open...].firstIndex(of: ">") else { return nil }
            let target = rest[rest.index(after: open)..<close]
            // The parameters run to the next link (a `<` after a comma) or the end.
            let after = rest[rest.index(after: close)...]
            let end = after.firstIndex(of: "<") ?? after.endIndex
            let parameters = after[..<end]
            for parameter in parameters.split(separator: ";") {
                let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard pair.count == 2, pair[0].lowercased() == "rel" else { continue }
                let values = pair[1].trimmingCharacters(in: CharacterSet(charactersIn: "\",")).split(separator: " ")
                if values.contains(where: { $0 == rel }) { return String(target) }
            }
            rest = after[end...]
        }
        return nil
    }
}
