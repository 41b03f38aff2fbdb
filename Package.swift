// swift-tools-version: 6.1
//
// Intake: a file-drop ingestion service for customer records.
// The Sources folders follow the data flow: a file is watched (IntakeWatch), read (IntakeRead),
// validated (IntakeValidate), stored (IntakeStore) and reported on (IntakeReport);
// IntakeImport wires one file through those steps; IntakeServe is the HTTP side (the customers API and
// files over HTTP); `intake` is the command line.
import PackageDescription

let package = Package(
    name: "Intake",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "intake", targets: ["intake"]),
        .executable(name: "intake-bench", targets: ["intake-bench"]),
        // `make fuzz` builds it with libFuzzer; an ordinary build replays input files through it.
        .executable(name: "intake-fuzz", targets: ["intake-fuzz"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.0.0"),
        // Traits off: swift-configuration support is not used, and each package costs CI build time.
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.0", traits: []),
        // swift-metrics is what Hummingbird and the watcher record to; swift-prometheus renders it.
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.1.0"),
        // The portal: pages from Mustache templates, passwords hashed with bcrypt (only its C
        // target and a thin Swift wrapper are built from hummingbird-auth).
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.0.0"),
    ],
    targets: [
        // C libraries, one system-library target each, from Debian's -dev packages.
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CZip", pkgConfig: "libzip", providers: [.apt(["libzip-dev"])]),
        .systemLibrary(name: "CExpat", pkgConfig: "expat", providers: [.apt(["libexpat1-dev"])]),
        .systemLibrary(name: "CXLSXWriter", pkgConfig: "xlsxwriter", providers: [.apt(["libxlsxwriter-dev"])]),
        // PostgreSQL's C client: blocking calls on the storing thread, as with SQLite, and COPY.
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),

        // Linux declarations Swift's Glibc module leaves out (eventfd).
        .target(name: "CIntakeLinux"),

        .target(name: "IntakeSystem", dependencies: ["CIntakeLinux"]),
        .target(name: "IntakeRead", dependencies: ["IntakeSystem", "CZip", "CExpat"]),
        .target(name: "IntakeValidate", dependencies: ["IntakeRead", "IntakeSystem"]),
        .target(name: "IntakeStore", dependencies: ["CSQLite", "IntakeSystem"]),
        // The shared store: the same ImportStore on PostgreSQL (see the README's "Running several nodes").
        .target(name: "IntakeStorePostgres", dependencies: ["CLibPQ", "IntakeStore", "IntakeSystem"]),
        .target(name: "IntakeReport", dependencies: ["CXLSXWriter", "IntakeSystem"]),
        .target(
            name: "IntakeImport",
            dependencies: [
                "IntakeSystem", "IntakeRead", "IntakeValidate", "IntakeStore", "IntakeReport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .target(
            name: "IntakeWatch",
            dependencies: [
                "IntakeImport", "IntakeStore", "IntakeSystem", "IntakeRead", "CIntakeLinux",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),
        .target(
            name: "IntakeServe",
            dependencies: [
                "IntakeImport", "IntakeStore", "IntakeSystem", "IntakeValidate", "IntakeWatch",
                "IntakeRead", "IntakeReport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
            ]
        ),
        .executableTarget(
            name: "intake",
            dependencies: [
                "IntakeRead", "IntakeImport", "IntakeStore", "IntakeStorePostgres", "IntakeWatch", "IntakeServe",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),

        // The fuzz targets' checks, shared by `make fuzz` and the replay of Fixtures/fuzz in `make test`.
        .target(name: "IntakeFuzz", dependencies: ["IntakeRead", "IntakeValidate", "IntakeImport", "IntakeSystem"]),
        .executableTarget(name: "intake-fuzz", dependencies: ["IntakeFuzz", "CIntakeLinux"]),

        // `make bench`: generates large files and times Intake against its floors.
        // It starts its PostgreSQL cluster as the tests do, through IntakeTestSupport.
        .executableTarget(name: "intake-bench", dependencies: ["IntakeSystem", "IntakeStore", "CXLSXWriter", "IntakeTestSupport"]),

        // Tests: one target per library module; end-to-end tests (child processes, sshd) live in
        // the suite of the module whose behaviour they show.
        .target(name: "IntakeTestSupport", dependencies: ["CZip", "IntakeRead", "IntakeSystem"], path: "Tests/IntakeTestSupport"),
        .testTarget(name: "IntakeSystemTests", dependencies: ["IntakeSystem", "IntakeTestSupport"]),
        .testTarget(name: "IntakeReadTests", dependencies: ["IntakeRead", "IntakeSystem", "IntakeTestSupport", "intake"]),
        .testTarget(name: "IntakeValidateTests", dependencies: ["IntakeValidate", "IntakeTestSupport"]),
        .testTarget(name: "IntakeStoreTests", dependencies: ["IntakeStore", "IntakeSystem", "IntakeTestSupport"]),
        .testTarget(name: "IntakeStorePostgresTests", dependencies: ["IntakeStorePostgres", "IntakeStore", "IntakeTestSupport"]),
        .testTarget(name: "IntakeFuzzTests", dependencies: ["IntakeFuzz", "IntakeTestSupport"]),
        .testTarget(name: "IntakeReportTests", dependencies: ["IntakeReport", "IntakeRead", "IntakeTestSupport"]),
        .testTarget(
            name: "IntakeImportTests",
            dependencies: ["CSQLite", "IntakeImport", "IntakeRead", "IntakeStore", "IntakeStorePostgres", "IntakeReport", "IntakeSystem", "IntakeValidate", "IntakeTestSupport", "intake"]
        ),
        .testTarget(
            name: "IntakeServeTests",
            dependencies: ["IntakeServe", "IntakeStore", "IntakeStorePostgres", "IntakeImport", "IntakeSystem", "IntakeValidate", "IntakeTestSupport", "intake"],
            // The browser walkthrough is Python, run by PortalBrowserTests.
            exclude: ["Browser"]
        ),
        .testTarget(
            name: "IntakeWatchTests",
            dependencies: [
                "IntakeWatch", "IntakeImport", "IntakeRead", "IntakeStore", "IntakeSystem", "IntakeTestSupport", "intake",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
    ]
)

// Settings every Swift target shares, applied in one place.
for target in package.targets where target.type != .system {
    var settings = target.swiftSettings ?? []
    settings.append(.swiftLanguageMode(.v6))
    // The data path (reading, validating, storing, reporting) runs per cell and per row, mostly in
    // classes that own a C handle or a parse state. Release builds drop the runtime exclusivity
    // checks on their stored properties (perf: 8% of reading an XLSX sheet went to
    // swift_beginAccess and its thread-local bookkeeping); debug builds, and so every test run,
    // keep them, so an overlapping access is still caught.
    if ["IntakeRead", "IntakeValidate", "IntakeStore", "IntakeStorePostgres", "IntakeReport", "IntakeImport"].contains(target.name) {
        settings.append(.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release)))
    }
    target.swiftSettings = settings
}
