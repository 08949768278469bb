// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "Inlet",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "inlet", targets: ["inlet"]),
        .library(name: "InletPluginKit", targets: ["InletPluginKit"]),
        // A tiny Swift connector the tests load with dlopen; never linked into a test binary.
        .library(name: "InletTestPlugin", type: .dynamic, targets: ["InletTestPlugin"]),
        // The README's Swift connector example, built so the tests load exactly what it shows.
        .library(name: "InletExampleGreeter", type: .dynamic, targets: ["InletExampleGreeter"]),
        // The git connector (`connector: git`); `make plugins` copies it into .build/plugins.
        .library(name: "InletGit", type: .dynamic, targets: ["InletGit"]),
        // The GitHub connector (`connector: github`); `make plugins` copies it into .build/plugins.
        .library(name: "InletGitHub", type: .dynamic, targets: ["InletGitHub"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        // Hummingbird's own transport; named for its error type (a port the server cannot bind).
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        // THE contract between the host and every connector. C only.
        .target(name: "CInletABI"),
        // The host's own C: the crash handler and the supervisor's spawn (never in a plugin).
        .target(name: "CInletHost"),
        // libcurl for the host's HTTP service (Debian: libcurl4-openssl-dev). Shims in the header
        // because curl_easy_setopt/getinfo are variadic.
        .systemLibrary(
            name: "CCurl",
            path: "Sources/CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        // Process-wide SQLite settings (sqlite3_config is variadic: a shim in the header).
        .systemLibrary(
            name: "CSQLiteSetup",
            path: "Sources/CSQLiteSetup",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        .target(
            name: "InletPluginKit",
            dependencies: ["CInletABI"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "InletCore",
            dependencies: [
                "CInletABI",
                "CInletHost",
                "CCurl",
                "CSQLiteSetup",
                .product(name: "GRDB", package: "GRDB.swift"),
                // sqlite3_wal_hook, which GRDB does not wrap (the background checkpointer).
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The HTTP surface: webhooks, /health, /metrics and the admin API, on Hummingbird.
        .target(
            name: "InletHTTP",
            dependencies: [
                "InletCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "inlet",
            dependencies: [
                "CInletHost",
                "InletCore",
                "InletHTTP",
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "InletTestPlugin",
            dependencies: ["InletPluginKit"],
            path: "Tests/Plugins/SwiftEcho",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "InletExampleGreeter",
            dependencies: ["InletPluginKit"],
            path: "Examples/SwiftGreeter",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "InletGit",
            dependencies: ["InletPluginKit"],
            path: "Plugins/Git",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "InletGitHub",
            dependencies: [
                "InletPluginKit",
                // RS256 for GitHub App JWTs (PKCS#1 v1.5 over SHA-256).
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            path: "Plugins/GitHub",
            swiftSettings: swiftSettings
        ),
        // `make bench`: figures printed beside baselines measured in the same run.
        .executableTarget(
            name: "inlet-bench",
            dependencies: [
                "InletCore",
                "InletHTTP",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Benchmarks/InletBench",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "InletCoreTests",
            dependencies: [
                "InletCore",
                "CInletABI",
                // A real server for the host's HTTP service to talk to.
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "InletPluginKitTests",
            dependencies: ["InletPluginKit"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "InletHTTPTests",
            dependencies: [
                "InletHTTP",
                "InletCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            // Real GitHub payloads (from GitHub's docs via octokit/webhooks), read by path.
            exclude: ["Fixtures"],
            swiftSettings: swiftSettings
        ),
        // The GitHub connector loaded as a `.so` through the real host, against a local GitHub
        // stand-in (Hummingbird) serving recorded answers. Never depends on the plugin target.
        .testTarget(
            name: "InletGitHubTests",
            dependencies: [
                "InletCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            // Recorded GitHub answers and webhook payloads (third-party, with their licences), read by path.
            exclude: ["Fixtures"],
            swiftSettings: swiftSettings
        ),
        // Runs the built `inlet` binary as a user would; checks the database with SQL.
        .testTarget(
            name: "InletIntegrationTests",
            dependencies: [
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                // An upstream server for `inlet sync` of a connector that uses host->http.
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
