/// What a file is, for connectors that ingest repositories and folders (git, GitHub).
public struct FileClassification: Sendable, Equatable {
    /// The language name (`Swift`, `Markdown`, …), or nil when unknown.
    public var language: String?
    public var category: FileCategory
    public var isBinary: Bool
    /// Produced by a tool (lock files, minified bundles, generated protobuf code).
    public var isGenerated: Bool
    /// Third-party code checked in (`vendor/`, `node_modules/`, …).
    public var isVendored: Bool

    public init(language: String?, category: FileCategory, isBinary: Bool, isGenerated: Bool, isVendored: Bool) {
        self.language = language
        self.category = category
        self.isBinary = isBinary
        self.isGenerated = isGenerated
        self.isVendored = isVendored
    }
}

/// The broad kind of a file.
public enum FileCategory: String, Sendable, CaseIterable {
    case code, docs, config, data, binary, other
}

/// Classifies files by path (language, category, generated, vendored) and by content (binary).
public enum FileClassifier {
    /// How many leading bytes the binary test looks at.
    public static let binaryProbeLength = 8192

    /// Classifies a file from its path and, when known, its leading bytes (at least the first
    /// ``binaryProbeLength`` of them, or the whole file). Without content, binary-ness comes from
    /// the extension alone.
    public static func classify(path: String, content: ArraySlice<UInt8>? = nil) -> FileClassification {
        let (language, pathCategory) = languageAndCategory(path: path)
        let binary: Bool
        if let content {
            binary = isBinary(content)
        } else {
            binary = pathCategory == .binary
        }
        var category = binary ? FileCategory.binary : pathCategory
        if !binary, category == .binary { category = .other }
        return FileClassification(
            language: binary ? nil : language, category: category, isBinary: binary,
            isGenerated: isGenerated(path: path), isVendored: isVendored(path: path))
    }

    /// The language and category that a path alone says.
    public static func languageAndCategory(path: String) -> (language: String?, category: FileCategory) {
        let name = fileName(path)
        if let known = wellKnownNames[name] { return known }
        let lower = name.lowercased()
        if let known = wellKnownNames[lower] { return known }
        if lower.hasPrefix("dockerfile") || lower.hasSuffix(".dockerfile") { return ("Dockerfile", .config) }
        if lower.hasPrefix("readme") || lower.hasPrefix("license") || lower.hasPrefix("licence") || lower.hasPrefix("changelog")
            || lower.hasPrefix("contributing") || lower.hasPrefix("authors") || lower.hasPrefix("notice") || lower.hasPrefix("copying")
        {
            if let ext = fileExtension(lower), let known = extensions[ext] { return known }
            return ("Text", .docs)
        }
        if let ext = fileExtension(lower), let known = extensions[ext] { return known }
        return (nil, .other)
    }

    /// A NUL byte or invalid UTF-8 in the first ``binaryProbeLength`` bytes. A multi-byte sequence
    /// cut by the probe's end is not held against the file.
    public static func isBinary(_ bytes: ArraySlice<UInt8>) -> Bool {
        let probe = bytes.prefix(binaryProbeLength)
        let truncated = bytes.count > binaryProbeLength
        var i = probe.startIndex
        let end = probe.endIndex
        while i < end {
            let byte = probe[i]
            if byte == 0 { return true }
            if byte < 0x80 {
                i += 1
                continue
            }
            let length: Int
            let minimum: UInt32
            var value: UInt32
            switch byte {
            case 0xC2...0xDF: length = 2; minimum = 0x80; value = UInt32(byte & 0x1F)
            case 0xE0...0xEF: length = 3; minimum = 0x800; value = UInt32(byte & 0x0F)
            case 0xF0...0xF4: length = 4; minimum = 0x10000; value = UInt32(byte & 0x07)
            default: return true
            }
            if i + length > end {
                // Cut by the probe: fine if what is there is a valid start; at the real end, invalid.
                if !truncated { return true }
                for k in (i + 1)..<end where probe[k] & 0xC0 != 0x80 { return true }
                return false
            }
            for k in 1..<length {
                let next = probe[i + k]
                if next & 0xC0 != 0x80 { return true }
                value = value << 6 | UInt32(next & 0x3F)
            }
            if value < minimum || value > 0x10FFFF || (0xD800...0xDFFF).contains(value) { return true }
            i += length
        }
        return false
    }

    /// Produced by a tool: lock files, minified or bundled files, generated sources.
    public static func isGenerated(path: String) -> Bool {
        let name = fileName(path)
        if generatedNames.contains(name) { return true }
        let lower = name.lowercased()
        for suffix in generatedSuffixes where lower.hasSuffix(suffix) { return true }
        let segments = path.split(separator: "/")
        return segments.dropLast().contains { generatedFolders.contains(String($0)) }
    }

    /// Third-party code checked in: `vendor/`, `node_modules/`, `third_party/`, `Pods/`, ….
    public static func isVendored(path: String) -> Bool {
        let segments = path.split(separator: "/")
        return segments.dropLast().contains { vendoredFolders.contains(String($0)) }
    }

    static func fileName(_ path: String) -> String {
        if let slash = path.lastIndex(of: "/") { return String(path[path.index(after: slash)...]) }
        return path
    }

    static func fileExtension(_ lowercasedName: String) -> String? {
        guard let dot = lowercasedName.lastIndex(of: "."), dot != lowercasedName.startIndex else { return nil }
        return String(lowercasedName[lowercasedName.index(after: dot)...])
    }

    static let wellKnownNames: [String: (String?, FileCategory)] = [
        "Makefile": ("Makefile", .code), "makefile": ("Makefile", .code), "GNUmakefile": ("Makefile", .code),
        "Dockerfile": ("Dockerfile", .config), "Containerfile": ("Dockerfile", .config),
        "Package.swift": ("Swift", .config), "Package.resolved": ("JSON", .config),
        "CMakeLists.txt": ("CMake", .config), "Rakefile": ("Ruby", .code), "Gemfile": ("Ruby", .config),
        "Gemfile.lock": (nil, .config), "Podfile": ("Ruby", .config), "Podfile.lock": ("YAML", .config),
        "Vagrantfile": ("Ruby", .config), "Jenkinsfile": ("Groovy", .config), "Justfile": ("Just", .config),
        "BUILD": ("Starlark", .config), "BUILD.bazel": ("Starlark", .config), "WORKSPACE": ("Starlark", .config),
        "go.mod": ("Go Module", .config), "go.sum": (nil, .config), "Cargo.toml": ("TOML", .config),
        "Cargo.lock": ("TOML", .config), "package.json": ("JSON", .config), "package-lock.json": ("JSON", .config),
        "yarn.lock": (nil, .config), "pnpm-lock.yaml": ("YAML", .config), "pyproject.toml": ("TOML", .config),
        "requirements.txt": ("Pip Requirements", .config), "setup.py": ("Python", .config), "setup.cfg": ("INI", .config),
        "tsconfig.json": ("JSON", .config), ".gitignore": ("Ignore List", .config), ".gitattributes": ("Git Attributes", .config),
        ".gitmodules": ("Git Config", .config), ".dockerignore": ("Ignore List", .config), ".editorconfig": ("EditorConfig", .config),
        ".swift-format": ("JSON", .config), ".swiftlint.yml": ("YAML", .config), ".env": ("Dotenv", .config),
        "CODEOWNERS": ("CODEOWNERS", .config), "LICENSE": ("Text", .docs), "COPYING": ("Text", .docs),
        "NOTICE": ("Text", .docs), "AUTHORS": ("Text", .docs), "CONTRIBUTORS": ("Text", .docs),
        "Procfile": ("Procfile", .config), "build.gradle": ("Groovy", .config), "pom.xml": ("XML", .config),
    ]

    static let extensions: [String: (String?, FileCategory)] = {
        var table: [String: (String?, FileCategory)] = [:]
        let code: [(String, [String])] = [
            ("Swift", ["swift"]), ("C", ["c", "h"]), ("C++", ["cc", "cpp", "cxx", "hpp", "hh", "hxx", "ipp"]),
            ("Objective-C", ["m"]), ("Objective-C++", ["mm"]), ("Go", ["go"]), ("Rust", ["rs"]),
            ("Python", ["py", "pyi", "pyw"]), ("JavaScript", ["js", "mjs", "cjs", "jsx"]), ("TypeScript", ["ts", "tsx", "mts", "cts"]),
            ("Java", ["java"]), ("Kotlin", ["kt", "kts"]), ("Scala", ["scala"]), ("Groovy", ["groovy", "gradle"]),
            ("Ruby", ["rb", "rake", "gemspec"]), ("PHP", ["php"]), ("Perl", ["pl", "pm"]), ("Shell", ["sh", "bash", "zsh", "fish"]),
            ("PowerShell", ["ps1", "psm1"]), ("Batchfile", ["bat", "cmd"]), ("C#", ["cs"]), ("F#", ["fs", "fsx"]),
            ("Visual Basic", ["vb"]), ("Lua", ["lua"]), ("R", ["r"]), ("Julia", ["jl"]), ("Haskell", ["hs"]),
            ("OCaml", ["ml", "mli"]), ("Elixir", ["ex", "exs"]), ("Erlang", ["erl", "hrl"]), ("Clojure", ["clj", "cljs", "cljc"]),
            ("Dart", ["dart"]), ("Zig", ["zig"]), ("Nim", ["nim"]), ("D", ["d"]), ("Assembly", ["s", "asm"]),
            ("SQL", ["sql"]), ("HTML", ["html", "htm"]), ("CSS", ["css"]), ("SCSS", ["scss"]), ("Sass", ["sass"]),
            ("Less", ["less"]), ("Vue", ["vue"]), ("Svelte", ["svelte"]), ("Protocol Buffers", ["proto"]),
            ("GraphQL", ["graphql", "gql"]), ("CMake", ["cmake"]), ("Makefile", ["mk", "mak"]), ("Vim Script", ["vim"]),
            ("Emacs Lisp", ["el"]), ("Common Lisp", ["lisp"]), ("Scheme", ["scm"]), ("Tcl", ["tcl"]),
            ("Fortran", ["f", "f90", "f95"]), ("Pascal", ["pas"]), ("Metal", ["metal"]), ("CUDA", ["cu", "cuh"]),
            ("GLSL", ["glsl", "vert", "frag"]), ("Terraform", ["tf"]), ("Nix", ["nix"]), ("Starlark", ["bzl", "star"]),
            ("Module Map", ["modulemap"]), ("Awk", ["awk"]), ("Sed", ["sed"]), ("Solidity", ["sol"]),
            ("Verilog", ["v", "sv"]), ("VHDL", ["vhd", "vhdl"]), ("WebAssembly Text", ["wat"]), ("Jinja", ["j2", "jinja"]),
            ("Mustache", ["mustache"]), ("Stencil", ["stencil"]), ("Leaf", ["leaf"]),
        ]
        let docs: [(String, [String])] = [
            ("Markdown", ["md", "markdown", "mdx"]), ("reStructuredText", ["rst"]), ("AsciiDoc", ["adoc", "asciidoc"]),
            ("Text", ["txt", "text"]), ("TeX", ["tex", "sty", "cls"]), ("Org", ["org"]), ("Roff", ["1", "2", "3", "5", "7", "8", "man"]),
            ("DocC", ["docc"]), ("POD", ["pod"]),
        ]
        let config: [(String, [String])] = [
            ("YAML", ["yml", "yaml"]), ("TOML", ["toml"]), ("INI", ["ini", "cfg", "conf", "properties"]),
            ("JSON", ["json", "jsonc", "json5"]), ("XML", ["xml", "plist", "xcscheme", "xcworkspacedata"]),
            ("Xcode Config", ["xcconfig"]), ("Nginx", ["nginx"]), ("Dotenv", ["env"]), ("HCL", ["hcl"]),
            ("Entitlements", ["entitlements"]), ("Xcode Project", ["pbxproj"]),
        ]
        let data: [(String, [String])] = [
            ("CSV", ["csv"]), ("TSV", ["tsv"]), ("JSON Lines", ["jsonl", "ndjson"]), ("SVG", ["svg"]),
            ("Diff", ["diff", "patch"]), ("Log", ["log"]), ("GeoJSON", ["geojson"]),
        ]
        for (language, exts) in code { for ext in exts { table[ext] = (language, .code) } }
        for (language, exts) in docs { for ext in exts { table[ext] = (language, .docs) } }
        for (language, exts) in config { for ext in exts { table[ext] = (language, .config) } }
        for (language, exts) in data { for ext in exts { table[ext] = (language, .data) } }
        let binary = [
            "png", "jpg", "jpeg", "gif", "bmp", "ico", "icns", "webp", "tif", "tiff", "heic", "psd",
            "pdf", "zip", "gz", "tgz", "bz2", "xz", "zst", "7z", "rar", "tar", "jar", "war", "whl",
            "so", "dylib", "dll", "exe", "a", "o", "lib", "obj", "class", "pyc", "wasm", "bin", "dat",
            "mp3", "mp4", "m4a", "wav", "ogg", "flac", "mov", "avi", "mkv", "webm",
            "ttf", "otf", "woff", "woff2", "eot", "sqlite", "db", "car", "nib", "pkl", "npy", "parquet",
        ]
        for ext in binary { table[ext] = (nil, .binary) }
        return table
    }()

    static let generatedNames: Set<String> = [
        "Package.resolved", "package-lock.json", "yarn.lock", "pnpm-lock.yaml", "Cargo.lock", "Gemfile.lock",
        "Podfile.lock", "poetry.lock", "composer.lock", "go.sum", "Pipfile.lock", "flake.lock", "mix.lock",
        "project.pbxproj",
    ]

    static let generatedSuffixes: [String] = [
        ".min.js", ".min.css", ".min.map", ".js.map", ".css.map", ".pb.go", ".pb.cc", ".pb.h", ".pb.swift",
        ".grpc.swift", "_pb2.py", "_pb2_grpc.py", ".pb.rs", ".generated.swift", ".g.dart", ".designer.cs",
        ".generated.cs", "_generated.go", ".gen.go",
    ]

    static let generatedFolders: Set<String> = ["__generated__", "generated", "Generated", "dist", ".build"]

    static let vendoredFolders: Set<String> = [
        "vendor", "vendors", "node_modules", "third_party", "third-party", "thirdparty", "3rdparty", "external",
        "Pods", "Carthage", "bower_components", "jspm_packages", ".yarn", "site-packages", "deps",
    ]
}

extension FileClassification {
    /// The metadata fields every connector that reads files writes the same way: `language`,
    /// `category`, `is_binary`, `generated`, `vendored`, and `too_large` (over the size limit).
    public func metadata(tooLarge: Bool) -> [String: JSONValue] {
        [
            "language": language.map(JSONValue.string) ?? .null, "category": .string(category.rawValue), "is_binary": .bool(isBinary),
            "generated": .bool(isGenerated), "vendored": .bool(isVendored), "too_large": .bool(tooLarge),
        ]
    }
}
