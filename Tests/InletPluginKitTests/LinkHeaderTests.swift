import Testing

@testable import InletPluginKit

@Suite("Link header")
struct LinkHeaderTests {
    /// GitHub's documented example ("Using pagination in the REST API").
    static let github = """
        <https://api.github.com/repositories/1300192/issues?page=2>; rel="prev", \
        <https://api.github.com/repositories/1300192/issues?page=4>; rel="next", \
        <https://api.github.com/repositories/1300192/issues?page=515>; rel="last", \
        <https://api.github.com/repositories/1300192/issues?page=1>; rel="first"
        """

    @Test func findsEachRelationOfGitHubsExample() {
        #expect(LinkHeader.url(in: Self.github, rel: "next") == "https://api.github.com/repositories/1300192/issues?page=4")
        #expect(LinkHeader.url(in: Self.github, rel: "prev") == "https://api.github.com/repositories/1300192/issues?page=2")
        #expect(LinkHeader.url(in: Self.github, rel: "last") == "https://api.github.com/repositories/1300192/issues?page=515")
        #expect(LinkHeader.url(in: Self.github, rel: "first") == "https://api.github.com/repositories/1300192/issues?page=1")
    }

    @Test func theLastPageHasNoNext() {
        let last = #"<https://api.github.com/user/145979/repos?page=2>; rel="prev", <https://api.github.com/user/145979/repos?page=1>; rel="first""#
        #expect(LinkHeader.url(in: last, rel: "next") == nil)
        #expect(LinkHeader.url(in: "", rel: "next") == nil)
    }

    @Test func aURLWithCommasAndSeveralRelationsInOneLink() {
        let header = #"<https://x.test/issues?labels=bug,ui&page=2>; rel="next last", <https://x.test/issues?labels=bug,ui&page=1>; REL=first"#
        #expect(LinkHeader.url(in: header, rel: "next") == "https://x.test/issues?labels=bug,ui&page=2")
        #expect(LinkHeader.url(in: header, rel: "last") == "https://x.test/issues?labels=bug,ui&page=2")
        #expect(LinkHeader.url(in: header, rel: "first") == "https://x.test/issues?labels=bug,ui&page=1")
    }

    @Test func aResponseFindsItsNextPage() {
        let response = HTTPResponse(status: 200, headerLines: [("link", Self.github)], body: [], notModified: false)
        #expect(response.link("next") == "https://api.github.com/repositories/1300192/issues?page=4")
        #expect(HTTPResponse(status: 200, headerLines: [], body: [], notModified: false).link("next") == nil)
    }
}
