import InletPluginKit
import Testing

@Suite("File classification shared by the repository connectors")
struct FileClassifierTests {
    @Test(arguments: [
        ("Sources/App/main.swift", "Swift", FileCategory.code),
        ("Package.swift", "Swift", .config),
        ("Makefile", "Makefile", .code),
        ("sub/Dockerfile", "Dockerfile", .config),
        ("Dockerfile.dev", "Dockerfile", .config),
        ("README.md", "Markdown", .docs),
        ("LICENSE", "Text", .docs),
        ("config/inlet.yaml", "YAML", .config),
        ("data/points.csv", "CSV", .data),
        ("lib/x.c", "C", .code),
        ("web/app.tsx", "TypeScript", .code),
        ("go.mod", "Go Module", .config),
    ])
    func languageAndCategoryFromPath(path: String, language: String, category: FileCategory) {
        let classification = FileClassifier.classify(path: path, content: Array("text\n".utf8)[...])
        #expect(classification.language == language)
        #expect(classification.category == category)
        #expect(!classification.isBinary)
    }

    @Test func unknownExtensionIsOther() {
        let classification = FileClassifier.classify(path: "notes.xyz", content: Array("hello".utf8)[...])
        #expect(classification.language == nil)
        #expect(classification.category == .other)
    }

    @Test func binaryByContentNotByExtension() {
        // A NUL byte makes a .txt binary; a text .dat is not binary.
        let nul = FileClassifier.classify(path: "a.txt", content: [0x61, 0x00, 0x62][...])
        #expect(nul.isBinary)
        #expect(nul.category == .binary)
        #expect(nul.language == nil)
        let textData = FileClassifier.classify(path: "table.dat", content: Array("1 2 3\n".utf8)[...])
        #expect(!textData.isBinary)
        #expect(textData.category == .other)
        // Without content, the extension decides.
        #expect(FileClassifier.classify(path: "logo.png").isBinary)
    }

    @Test func invalidUTF8IsBinary() {
        #expect(FileClassifier.isBinary([0xFF, 0xFE, 0x41][...]))
        #expect(FileClassifier.isBinary([0xC0, 0x80][...]))  // overlong NUL
        #expect(FileClassifier.isBinary([0xED, 0xA0, 0x80][...]))  // a surrogate
        #expect(FileClassifier.isBinary(Array("é".utf8).dropLast()))  // cut at the real end
        #expect(!FileClassifier.isBinary(Array("héllo wörld – ✓ 🎉".utf8)[...]))
        #expect(!FileClassifier.isBinary([][...]))
    }

    @Test func onlyTheFirst8KBCount() {
        // A character cut by the probe is not held against the file; a NUL past 8 KB is not seen.
        var bytes = [UInt8](repeating: 0x61, count: FileClassifier.binaryProbeLength - 1) + Array("é".utf8)
        #expect(!FileClassifier.isBinary(bytes[...]))
        bytes += [0x00]
        #expect(!FileClassifier.isBinary(bytes[...]))
    }

    @Test func generatedAndVendoredPaths() {
        #expect(FileClassifier.isVendored(path: "vendor/github.com/x/y.go"))
        #expect(FileClassifier.isVendored(path: "web/node_modules/left-pad/index.js"))
        #expect(!FileClassifier.isVendored(path: "src/vendor.go"))
        #expect(FileClassifier.isGenerated(path: "Package.resolved"))
        #expect(FileClassifier.isGenerated(path: "static/app.min.js"))
        #expect(FileClassifier.isGenerated(path: "api/service.pb.go"))
        #expect(FileClassifier.isGenerated(path: "Sources/Gen/Model.pb.swift"))
        #expect(!FileClassifier.isGenerated(path: "Sources/App/main.swift"))
        let classification = FileClassifier.classify(path: "third_party/zlib/inflate.c", content: Array("x".utf8)[...])
        #expect(classification.isVendored && !classification.isGenerated && classification.language == "C")
    }
}
