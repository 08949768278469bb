import Foundation

/// RFC 8288 `Link` headers, as paginated REST APIs send them (GitHub:
/// `<url>; rel="next", <url>; rel="last"`). Follow the server's URLs; never build page URLs.
public enum LinkHeader {
    /// The URL of the link with relation `rel`, or nil (GitHub leaves the header out when all
    /// fits in one page, and `next` out on the last page).
    public static func url(in header: String, rel: String) -> String? {
        var rest = Substring(header)
        while let open = rest.firstIndex(of: "<") {
            guard let close = rest[open...].firstIndex(of: ">") else { return nil }
            let target = rest[rest.index(after: open)..<close]
            // The parameters run to the next link (a `<` after a comma) or the end; a URL may
            // itself hold commas (`labels=a,b`), so links are not split on commas.
            let after = rest[rest.index(after: close)...]
            let end = after.firstIndex(of: "<") ?? after.endIndex
            for parameter in after[..<end].split(separator: ";") {
                let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard pair.count == 2, pair[0].lowercased() == "rel" else { continue }
                // `rel="next last"` names two relations.
                let values = pair[1].trimmingCharacters(in: CharacterSet(charactersIn: "\",")).split(separator: " ")
                if values.contains(where: { $0.lowercased() == rel.lowercased() }) { return String(target) }
            }
            rest = after[end...]
        }
        return nil
    }
}

extension HTTPResponse {
    /// The `Link` header's URL for `rel` (`"next"` for the following page), or nil.
    public func link(_ rel: String) -> String? {
        header("link").flatMap { LinkHeader.url(in: $0, rel: rel) }
    }
}
