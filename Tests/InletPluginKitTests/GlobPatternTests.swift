import InletPluginKit
import Testing

@Suite("Globs with the folder connector's semantics")
struct GlobPatternTests {
    func matches(_ pattern: String, _ path: String) throws -> Bool { try GlobPattern(pattern).matches(path) }

    @Test(arguments: [
        ("**", "a/b/c.txt", true),
        ("**/*.c", "a.c", true),
        ("**/*.c", "x/y/a.c", true),
        ("**/*.c", "x/y/a.h", false),
        ("docs/**", "docs/a/b.md", true),
        ("docs/**", "src/docs/a.md", false),
        ("*.md", "README.md", true),
        ("*.md", "docs/README.md", false),
        ("src/*.swift", "src/a/b.swift", false),
        ("?.txt", "a.txt", true),
        ("?.txt", "ab.txt", false),
        ("[a-c]*.txt", "banana.txt", true),
        ("[a-c]*.txt", "date.txt", false),
        ("[!a-c]*.txt", "date.txt", true),
        ("build/", "build/x/y.o", true),
        ("/build/**", "build/y.o", true),
        ("./src/**/*.h", "src/include/x.h", true),
        ("*", ".hidden", true),
        ("a\\*b", "a*b", true),
        ("a\\*b", "axb", false),
        ("**/node_modules/**", "web/node_modules/x/index.js", true),
        ("src/**/test/*.c", "src/test/a.c", true),
        ("src/**/test/*.c", "src/a/b/test/a.c", true),
        ("*.ü", "x.ü", true),
        ("[", "[", true),
    ])
    func matchesLikeTheFolderConnector(pattern: String, path: String, expected: Bool) throws {
        #expect(try matches(pattern, path) == expected, "\(pattern) vs \(path)")
    }

    @Test func filterTakesIncludesMinusExcludes() throws {
        let filter = try PathFilter(include: ["**/*.swift", "*.md"], exclude: ["Tests/**"])
        #expect(filter.accepts("Sources/A.swift"))
        #expect(filter.accepts("README.md"))
        #expect(!filter.accepts("Tests/A.swift"))
        #expect(!filter.accepts("Makefile"))
        #expect(try PathFilter().accepts("anything/at/all"))
    }

    @Test func emptyPatternIsRefused() {
        #expect(throws: ConnectorError.self) { try GlobPattern("") }
        #expect(throws: ConnectorError.self) { try GlobPattern("/") }
    }

    @Test func sizesParse() throws {
        #expect(ByteSize.parse("1MB") == 1_048_576)
        #expect(ByteSize.parse("512KB") == 524_288)
        #expect(ByteSize.parse("1.5 MB") == 1_572_864)
        #expect(ByteSize.parse("100") == 100)
        #expect(ByteSize.parse("lots") == nil)
        #expect(try ByteSize.parse(.int(42), field: "max_file_size") == 42)
        #expect(throws: ConnectorError.self) { try ByteSize.parse(.string("1 parsec"), field: "max_file_size") }
    }
}
